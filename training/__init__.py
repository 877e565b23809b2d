"""VideoPrism in PyTorch: the model, data, losses, trainers, export and checkpoint conversion."""
