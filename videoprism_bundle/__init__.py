"""The model-bundle contract: what `training/` writes and `service/` runs.

One place for the manifest schema (`manifest`), the graphs' tensor names (`tensor_names`), the ONNX element
types a manifest may declare (`onnx_dtypes`), the text path the encoder was trained with (`canonicalize`,
`tokenizer`), the verifying reader (`loader`) and the errors they raise (`errors`). It imports neither the
server (FastAPI, gRPC, batching, cache) nor torch, so both halves can depend on it.
"""
