"""The same demo bundle served by Ray Serve and by LitServe, for side-by-side comparisons with this service.

Both peers expose the doors the load generator drives: `POST /v1/embed/text` (`{"texts": [...]}`),
`POST /v1/embed/video` with pre-decoded frames (`{"videos": [{"frames": {"data", "shape"}}]}`) and
`GET /readyz`. They run the same ONNX Runtime sessions and tokenizer as the service.
"""
