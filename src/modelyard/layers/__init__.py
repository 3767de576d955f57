"""The library of modules and helpers the model families compose.

``stack`` (LayerStack: the layer loop with gradient checkpointing, LayerDrop, hidden-state and attention
collection), ``heads`` (losses and the generic task heads), ``generic_heads`` (their forward: the base model on
the inputs, the multiple-choice fold, the question-answering forward of BERT's inputs), ``returns``
(finish_output: object or tuple; OutputSwitches: the output switches every forward takes as one keyword group), ``attention`` (SDPA, masks, the query/key/value block), ``mlp``,
``embeddings``, ``pooling``, ``init``, ``activations``, ``pruning``, ``spec_augment``, and ``inference`` (the
fast paths behind ``optimize_for_inference()``).
"""
