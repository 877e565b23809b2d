"""Jobs for videos of any length: a queue, per-job state and per-segment results, in process or in Redis
(durable across replicas), and the worker loop that runs them through the core's segment stream."""
