"""Generated protobuf and gRPC stubs; see service/grpc_api/codegen.py."""
