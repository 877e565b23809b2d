"""Generated protobuf and gRPC stubs of the client; see codegen.py."""
