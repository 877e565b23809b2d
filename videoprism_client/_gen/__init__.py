"""Generated protobuf and gRPC stubs of the client; see service/grpc_api/codegen.py."""
