"""Building blocks shared by the model families (attention on torch SDPA, activations, head pruning)."""
