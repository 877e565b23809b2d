"""The gRPC front door (package `videoprism.v1`): a thin grpc.aio adapter over the shared `ServiceContext`.

Stubs come from `videoprism_proto` (one copy, shared with the client), generated from
`proto/videoprism/v1/embedding.proto` by `python -m videoprism_proto.codegen` and committed;
`tests/api/test_proto_fresh.py` fails when they are stale.
"""
