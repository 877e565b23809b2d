"""The gRPC front door (package `videoprism.v1`): a thin grpc.aio adapter over the shared `ServiceContext`.

Stubs in `gen/` are generated from `proto/videoprism/v1/embedding.proto` by `python -m service.grpc_api.codegen`
and committed; `tests/api/test_proto_fresh.py` fails when they are stale.
"""
