"""Evaluation: held-out zero-shot retrieval, attention-pooling probes and k-NN on frozen features."""
