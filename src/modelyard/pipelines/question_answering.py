"""``question-answering``: the span of a context that answers a question.

Long contexts are split into overlapping windows (``doc_stride`` tokens shared, ``max_seq_len`` tokens each,
the question cut to ``max_question_len``); every window's best spans compete. Each answer is
``{"score", "start", "end", "answer"}`` (character offsets into the context); ``top_k`` answers come as a
list, one as a dict; ``handle_impossible_answer=True`` lets the empty answer win; ``max_answer_len`` bounds an
answer in tokens; ``align_to_words`` widens a span to whole words.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelyard.errors import PipelineError
from modelyard.pipelines.base import Params, Piece, Pipeline, as_numpy


def decode_spans(start: np.ndarray, end: np.ndarray, top_k: int, max_answer_len: int,
                 allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``top_k`` best (start, end) token pairs by ``p(start) * p(end)``, end >= start, at most
    ``max_answer_len`` tokens long, both ends in ``allowed``."""
    outer = np.matmul(start[:, :, None], end[:, None, :])  # (1, seq, seq)
    candidates = np.tril(np.triu(outer), max_answer_len - 1)
    flat = candidates.flatten()
    if top_k == 1:
        order = np.array([np.argmax(flat)])
    elif len(flat) < top_k:
        order = np.argsort(-flat)
    else:
        best = np.argpartition(-flat, top_k)[:top_k]
        order = best[np.argsort(-flat[best])]
    starts, ends = np.unravel_index(order, candidates.shape)[1:]
    positions = allowed.nonzero()
    keep = np.isin(starts, positions) & np.isin(ends, positions)
    starts, ends = starts[keep], ends[keep]
    return starts, ends, candidates[0, starts, ends]


class QuestionAnsweringPipeline(Pipeline):
    """``pipe(question="Where?", context="In Paris.")`` -> ``{"score", "start", "end", "answer"}``."""

    task = "question-answering"

    def _sanitize(self, *, top_k: int | None = None, doc_stride: int | None = None,
                  max_answer_len: int | None = None, max_seq_len: int | None = None,
                  max_question_len: int | None = None, handle_impossible_answer: bool | None = None,
                  align_to_words: bool | None = None, padding: Any = None, topk: int | None = None,
                  ) -> tuple[Params, Params, Params]:
        if not self.tokenizer.is_fast:
            raise PipelineError(
                "question-answering maps answers back to the context through token offsets, which only fast "
                "tokenizers give; load the model's fast tokenizer (tokenizer.json) or use_fast=True."
            )
        pre = {key: value for key, value in (("padding", padding), ("doc_stride", doc_stride),
                                             ("max_question_len", max_question_len), ("max_seq_len", max_seq_len))
               if value is not None}
        post: Params = {}
        top_k = top_k if top_k is not None else topk
        if top_k is not None:
            if top_k < 1:
                raise PipelineError(f"top_k must be at least 1, got {top_k}.")
            post["top_k"] = top_k
        if max_answer_len is not None:
            if max_answer_len < 1:
                raise PipelineError(f"max_answer_len must be at least 1, got {max_answer_len}.")
            post["max_answer_len"] = max_answer_len
        if handle_impossible_answer is not None:
            post["handle_impossible_answer"] = handle_impossible_answer
        if align_to_words is not None:
            post["align_to_words"] = align_to_words
        return pre, {}, post

    def __call__(self, inputs: Any = None, *, question: str | list[str] | None = None,
                 context: str | list[str] | None = None, **options: Any) -> Any:
        examples = self._examples(inputs, question, context)
        if isinstance(examples, list) and len(examples) == 1:
            examples = examples[0]
        return super().__call__(examples, **options)

    @staticmethod
    def _examples(inputs: Any, question: Any, context: Any) -> Any:
        if inputs is None:
            if question is None or context is None:
                raise PipelineError("question-answering needs both question=... and context=... (or a dict of both).")
            if isinstance(question, list) and isinstance(context, list):
                if len(question) != len(context):
                    raise PipelineError(f"Got {len(question)} questions for {len(context)} contexts; pass as many.")
                return [{"question": q, "context": c} for q, c in zip(question, context)]
            if isinstance(question, list):
                return [{"question": q, "context": context} for q in question]
            if isinstance(context, list):
                return [{"question": question, "context": c} for c in context]
            return {"question": question, "context": context}
        if isinstance(inputs, dict):
            return inputs
        if isinstance(inputs, list):
            return list(inputs)
        return inputs  # a generator or dataset of dicts

    def preprocess(self, example: Any, *, padding: Any = "do_not_pad", doc_stride: int | None = None,
                   max_question_len: int = 64, max_seq_len: int | None = None) -> list[Piece]:
        if not isinstance(example, dict) or not {"question", "context"} <= set(example):
            raise PipelineError(f"Each question-answering input is {{'question': ..., 'context': ...}}; got {example!r:.80}.")
        question, context = example["question"], example["context"]
        if not question or not context:
            raise PipelineError("question and context must both be non-empty strings.")
        if max_seq_len is None:
            max_seq_len = min(self.tokenizer.model_max_length, 384)
        if doc_stride is None:
            doc_stride = min(max_seq_len // 2, 128)
        if doc_stride > max_seq_len:
            raise PipelineError(f"doc_stride ({doc_stride}) is larger than max_seq_len ({max_seq_len}); lower it.")
        question_first = self.tokenizer.padding_side == "right"
        encoded = self.tokenizer(
            text=question if question_first else context,
            text_pair=context if question_first else question,
            padding=padding, truncation="only_second" if question_first else "only_first",
            max_length=max_seq_len, stride=doc_stride, return_token_type_ids=True,
            return_overflowing_tokens=True, return_offsets_mapping=True, return_special_tokens_mask=True,
        )
        names = self.tokenizer.model_input_names
        cls_id = self.tokenizer.cls_token_id
        pieces = []
        for span in range(len(encoded["input_ids"])):
            ids = encoded["input_ids"][span]
            # p_mask: 1 where an answer cannot be (question, special tokens); the CLS stays allowed
            p_mask = [int(seq != 1) if question_first else 0 for seq in encoded.sequence_ids(span)]
            if cls_id is not None:
                for position, token in enumerate(ids):
                    if token == cls_id:
                        p_mask[position] = 0
            inputs = {key: encoded[key][span] for key in names if key in encoded}
            pieces.append(Piece(inputs, {"context": context, "p_mask": p_mask, "encoding": encoded[span]}))
        return pieces

    def _forward(self, batch: dict[str, Any], **params: Any) -> dict[str, Any]:
        outputs = self.model(**batch)
        return {"start": outputs["start_logits"], "end": outputs["end_logits"]}

    def postprocess(self, outputs: list[dict[str, Any]], *, top_k: int = 1, handle_impossible_answer: bool = False,
                    max_answer_len: int = 15, align_to_words: bool = True) -> Any:
        null_score = 1000000.0
        answers: list[dict[str, Any]] = []
        wanted = top_k * 2 + 10 if align_to_words else top_k  # aligning to words may merge candidates
        question_first = self.tokenizer.padding_side == "right"
        for out in outputs:
            ids = out["model_inputs"]["input_ids"]
            length = len(ids)
            start, end = as_numpy(out["start"][:, :length]), as_numpy(out["end"][:, :length])
            allowed = np.abs(np.array(out["p_mask"])[None] - 1)
            mask = out["model_inputs"].get("attention_mask")
            if mask is not None:
                allowed = allowed & np.array(mask)[None]
            blocked = allowed == 0
            start = np.where(blocked, -10000.0, start)
            end = np.where(blocked, -10000.0, end)
            start = np.exp(start - start.max(axis=-1, keepdims=True))
            start = start / start.sum()
            end = np.exp(end - end.max(axis=-1, keepdims=True))
            end = end / end.sum()
            if handle_impossible_answer:
                null_score = min(null_score, float(start[0, 0] * end[0, 0]))
            start[0, 0] = end[0, 0] = 0.0
            starts, ends, scores = decode_spans(start, end, wanted, max_answer_len, allowed)
            offset = sum(1 for token in ids if token == self.tokenizer.pad_token_id) \
                if self.tokenizer.padding_side == "left" else 0
            encoding = out["encoding"]
            context = out["context"]
            for s, e, score in zip(starts, ends, scores):
                first, last = self._char_span(encoding, int(s) - offset, int(e) - offset, 1 if question_first else 0,
                                              align_to_words)
                text = context[first:last]
                same = next((answer for answer in answers if answer["answer"].lower() == text.lower()), None)
                if same is not None:
                    same["score"] += float(score)
                else:
                    answers.append({"score": float(score), "start": first, "end": last, "answer": text})
        if handle_impossible_answer:
            answers.append({"score": null_score, "start": 0, "end": 0, "answer": ""})
        answers = sorted(answers, key=lambda answer: answer["score"], reverse=True)[:top_k]
        return answers[0] if len(answers) == 1 else answers

    @staticmethod
    def _char_span(encoding: Any, s: int, e: int, sequence: int, align_to_words: bool) -> tuple[int, int]:
        if align_to_words:
            try:
                first = encoding.word_to_chars(encoding.token_to_word(s), sequence_index=sequence)[0]
                last = encoding.word_to_chars(encoding.token_to_word(e), sequence_index=sequence)[1]
                return first, last
            except Exception:  # a token outside any word (the reference falls back the same way)
                pass
        return encoding.offsets[s][0], encoding.offsets[e][1]
