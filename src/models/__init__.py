"""Models: the registry (plain data, src/models/registry.py), their constructors (build.py), and the
architectures written here or wrapped from torchvision, pytorchvideo and transformers."""
