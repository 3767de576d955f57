"""The configuration of a small GPT a user writes (the second guide's pattern, for a decoder)."""

from modelyard import PretrainedConfig


class TinyGPTConfig(PretrainedConfig):
    model_type = "tinygpt"

    def __init__(self, vocab_size=257, n_positions=128, n_embd=64, n_layer=2, n_head=4, eos_token_id=256,
                 **kwargs):
        if n_embd % n_head:
            raise ValueError(f"n_embd ({n_embd}) must be a multiple of n_head ({n_head}).")
        self.vocab_size = vocab_size
        self.n_positions = n_positions
        self.n_embd = n_embd
        self.n_layer = n_layer
        self.n_head = n_head
        super().__init__(eos_token_id=eos_token_id, **kwargs)
