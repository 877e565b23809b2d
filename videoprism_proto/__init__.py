"""The protobuf/gRPC stubs of `proto/videoprism/v1/embedding.proto` (package `videoprism.v1`), generated and
committed; the one copy that both the server (`service.grpc_api`) and the SDK (`videoprism_client`) import.

`embedding_pb2*.py` are generated: edit the .proto, then regenerate with `python -m videoprism_proto.codegen`
(`make proto`); `tests/api/test_proto_fresh.py` fails when they are stale. Importing the stubs needs only
grpcio and protobuf, so the client never needs the server package.
"""
