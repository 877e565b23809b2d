"""Our own load generator: asyncio HTTP and grpc.aio clients, closed loop at a fixed concurrency and open
loop at a fixed arrival rate (latency measured from the intended send time, so no coordinated omission)."""
