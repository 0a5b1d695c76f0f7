"""scipy-like namespaces of differentiable functions: ``dualtape.scipy.special``."""
