"""VideoPrism embedding service: runs exported model bundles (ONNX / TensorRT). Never imports torch."""

__version__ = "0.1.0"
