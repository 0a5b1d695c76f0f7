"""scipy-like namespaces of differentiable functions: ``dualtape.scipy.special``,
``dualtape.scipy.stats`` and ``dualtape.scipy.linalg`` (each imported on its own)."""
