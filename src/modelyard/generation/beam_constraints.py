"""Constraints for constrained beam search (``constraints=`` / ``force_words_ids=`` of ``generate()``).

A constraint is a small state machine over generated tokens: :class:`PhrasalConstraint` wants one token
sequence somewhere in the output, :class:`DisjunctiveConstraint` wants any one of several (a trie of them).
:class:`ConstraintListState` follows all the constraints of one beam: which are complete, which one is in
progress, which are pending, and how far along the beam is (its "bank", the progress beams are grouped by).

The classes keep the reference library's semantics to the letter, quirks included, because the beams chosen
depend on them: a phrase reset after a mismatch counts its first token as matched, and a stateful copy of a
disjunctive constraint shares (does not copy) the list of tokens matched so far.
"""

from __future__ import annotations

from typing import Any

from modelyard.errors import ConfigurationError


class Constraint:
    """Base class. Subclasses implement ``advance`` (the token(s) that make progress), ``does_advance(token)``,
    ``update(token) -> (stepped, completed, reset)``, ``reset``, ``remaining`` and ``copy(stateful)``, and set
    ``seqlen``. A subclass that calls ``Constraint.__init__`` is checked: feeding it its own ``advance()``
    tokens must complete it."""

    seqlen: int

    def __init__(self) -> None:
        self.test()

    def test(self) -> None:
        steps = 0
        completed = False
        while not completed:
            if steps == 1:
                self.reset()
            token = self.advance()
            if not self.does_advance(token):
                raise ConfigurationError(f"{type(self).__name__} is not consistent: does_advance(advance()) must be "
                                         "true.")
            _, completed, _ = self.update(token)
            steps += 1
            if steps > 10000:
                raise ConfigurationError(f"{type(self).__name__}.update() never completes the constraint.")
        if self.remaining() != 0:
            raise ConfigurationError(f"{type(self).__name__} is complete but remaining() is not 0.")

    def advance(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement advance()")

    def does_advance(self, token_id: Any) -> bool:
        raise NotImplementedError(f"{type(self).__name__} must implement does_advance(token_id)")

    def update(self, token_id: Any) -> tuple[bool, bool, bool]:
        raise NotImplementedError(f"{type(self).__name__} must implement update(token_id)")

    def reset(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement reset()")

    def remaining(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement remaining()")

    def copy(self, stateful: bool = False) -> Constraint:
        raise NotImplementedError(f"{type(self).__name__} must implement copy(stateful)")


def _check_ids(ids: Any, what: str) -> None:
    if not isinstance(ids, list) or not ids or any(not isinstance(t, int) or isinstance(t, bool) or t < 0
                                                   for t in ids):
        raise ConfigurationError(f"{what} must be a non-empty list of token ids (non-negative integers), got {ids!r}.")


class PhrasalConstraint(Constraint):
    """The output must contain ``token_ids`` in this order, consecutively."""

    def __init__(self, token_ids: list[int]) -> None:
        _check_ids(token_ids, "PhrasalConstraint token_ids")
        self.token_ids = token_ids
        self.seqlen = len(token_ids)
        self.fulfilled_idx = -1  # index of the last matched token
        self.completed = False

    def advance(self) -> int | None:
        return None if self.completed else self.token_ids[self.fulfilled_idx + 1]

    def does_advance(self, token_id: Any) -> bool:
        if not isinstance(token_id, int):
            raise ConfigurationError(f"token_id must be an int, got {token_id!r}.")
        return not self.completed and token_id == self.token_ids[self.fulfilled_idx + 1]

    def update(self, token_id: Any) -> tuple[bool, bool, bool]:
        if not isinstance(token_id, int):
            raise ConfigurationError(f"token_id must be an int, got {token_id!r}.")
        if self.does_advance(token_id):
            self.fulfilled_idx += 1
            self.completed = self.fulfilled_idx == self.seqlen - 1
            return True, self.completed, False
        self.reset()
        return False, False, True

    def reset(self) -> None:
        self.completed = False
        self.fulfilled_idx = 0  # the reference's value (its callers replace a reset constraint with a fresh copy)

    def remaining(self) -> int:
        return self.seqlen - (self.fulfilled_idx + 1)

    def copy(self, stateful: bool = False) -> PhrasalConstraint:
        twin = PhrasalConstraint(self.token_ids)
        if stateful:
            twin.fulfilled_idx = self.fulfilled_idx
            twin.completed = self.completed
        return twin


class DisjunctiveTrie:
    """The alternatives of a :class:`DisjunctiveConstraint` as a trie of token ids."""

    def __init__(self, nested_token_ids: list[list[int]], no_subsets: bool = True) -> None:
        self.max_height = max(len(ids) for ids in nested_token_ids)
        root: dict[int, Any] = {}
        for ids in nested_token_ids:
            level = root
            for token in ids:
                level = level.setdefault(token, {})
        if no_subsets and self.count_leaves(root) != len(nested_token_ids):
            raise ConfigurationError(
                f"No alternative of a DisjunctiveConstraint may be a prefix of (or equal to) another, got "
                f"{nested_token_ids!r}.")
        self.trie = root

    def next_tokens(self, current_seq: list[int]) -> list[int]:
        level = self.trie
        for token in current_seq:
            level = level[token]
        return list(level.keys())

    def reached_leaf(self, current_seq: list[int]) -> bool:
        return len(self.next_tokens(current_seq)) == 0

    def count_leaves(self, root: dict[int, Any]) -> int:
        children = list(root.values())
        return 1 if not children else sum(self.count_leaves(child) for child in children)


class DisjunctiveConstraint(Constraint):
    """The output must contain one of ``nested_token_ids`` (each consecutively)."""

    def __init__(self, nested_token_ids: list[list[int]]) -> None:
        if not isinstance(nested_token_ids, list) or not nested_token_ids:
            raise ConfigurationError(
                f"DisjunctiveConstraint needs a non-empty list of token-id lists, got {nested_token_ids!r}.")
        for ids in nested_token_ids:
            _check_ids(ids, "Each alternative of a DisjunctiveConstraint")
        self.trie = DisjunctiveTrie(nested_token_ids)
        self.token_ids = nested_token_ids
        self.seqlen = self.trie.max_height
        self.current_seq: list[int] = []
        self.completed = False

    def advance(self) -> list[int] | None:
        tokens = self.trie.next_tokens(self.current_seq)
        return tokens or None

    def does_advance(self, token_id: Any) -> bool:
        if not isinstance(token_id, int):
            raise ConfigurationError(f"token_id must be an int, got {token_id!r}.")
        return token_id in self.trie.next_tokens(self.current_seq)

    def update(self, token_id: Any) -> tuple[bool, bool, bool]:
        if not isinstance(token_id, int):
            raise ConfigurationError(f"token_id must be an int, got {token_id!r}.")
        stepped = reset = False
        if self.does_advance(token_id):
            self.current_seq.append(token_id)
            stepped = True
        else:
            reset = True
            self.reset()
        self.completed = self.trie.reached_leaf(self.current_seq)
        return stepped, self.completed, reset

    def reset(self) -> None:
        self.completed = False
        self.current_seq = []

    def remaining(self) -> int:
        return 0 if self.completed else self.seqlen - len(self.current_seq)

    def copy(self, stateful: bool = False) -> DisjunctiveConstraint:
        twin = DisjunctiveConstraint(self.token_ids)
        if stateful:
            twin.current_seq = self.current_seq  # shared, as in the reference
            twin.completed = self.completed
        return twin


class ConstraintListState:
    """The progress of one beam through a list of constraints."""

    def __init__(self, constraints: list[Constraint]) -> None:
        self.constraints = constraints
        self.max_seqlen = max(c.seqlen for c in constraints)
        self.n_constraints = len(constraints)
        self.completed = False
        self.init_state()

    def init_state(self) -> None:
        self.complete_constraints: list[Constraint] = []
        self.inprogress_constraint: Constraint | None = None
        self.pending_constraints = [c.copy(stateful=False) for c in self.constraints]

    def get_bank(self) -> int:
        """Progress: ``max_seqlen`` per complete constraint plus the matched part of the one in progress."""
        partial = self.max_seqlen - self.inprogress_constraint.remaining() if self.inprogress_constraint else 0
        return len(self.complete_constraints) * self.max_seqlen + partial

    def advance(self) -> list[int] | None:
        """The tokens that would make progress next (of the constraint in progress, else of every pending one)."""
        tokens: list[int] = []
        sources = [self.inprogress_constraint] if self.inprogress_constraint is not None else self.pending_constraints
        for constraint in sources:
            step = constraint.advance()
            if isinstance(step, int):
                tokens.append(step)
            elif isinstance(step, list):
                tokens.extend(step)
        return tokens or None

    def reset(self, token_ids: list[int] | None) -> None:
        self.init_state()
        if token_ids is not None:
            for token in token_ids:
                self.add(token)
                if self.completed:
                    break

    def add(self, token_id: int) -> tuple[bool, bool]:
        if not isinstance(token_id, int):
            raise ConfigurationError(f"token_id must be an int, got {token_id!r}.")
        if self.completed:
            return True, False
        complete = stepped = False
        if self.inprogress_constraint is not None:
            stepped, complete, reset = self.inprogress_constraint.update(token_id)
            if reset:
                self.pending_constraints.append(self.inprogress_constraint.copy(stateful=False))
                self.inprogress_constraint = None
            if complete:
                self.complete_constraints.append(self.inprogress_constraint)  # type: ignore[arg-type]
                self.inprogress_constraint = None
                if not self.pending_constraints:
                    self.completed = True
        else:
            for index, pending in enumerate(self.pending_constraints):
                if not pending.does_advance(token_id):
                    continue
                stepped, complete, _ = pending.update(token_id)
                if not stepped:
                    raise ConfigurationError(f"{type(pending).__name__}.update() made no progress on a token "
                                             "does_advance() accepted.")
                if complete:
                    self.complete_constraints.append(pending)
                    self.inprogress_constraint = None
                else:
                    self.inprogress_constraint = pending
                self.pending_constraints = self.pending_constraints[:index] + self.pending_constraints[index + 1:]
                if not self.pending_constraints and self.inprogress_constraint is None:
                    self.completed = True
                break  # one token advances one constraint
        return complete, stepped

    def copy(self, stateful: bool = True) -> ConstraintListState:
        twin = ConstraintListState(self.constraints)
        if stateful:
            twin.complete_constraints = [c.copy(stateful=True) for c in self.complete_constraints]
            if self.inprogress_constraint is not None:
                twin.inprogress_constraint = self.inprogress_constraint.copy(stateful=True)
            twin.pending_constraints = [c.copy() for c in self.pending_constraints]
        return twin


def constraints_from_config(constraints: list[Constraint] | None, force_words_ids: Any) -> list[Constraint]:
    """The constraints of ``constraints=`` plus one per entry of ``force_words_ids`` (a list of ids: a phrase;
    a list of lists: alternatives)."""
    found = list(constraints or [])
    if force_words_ids is None:
        return found
    if not isinstance(force_words_ids, list) or not force_words_ids:
        raise ConfigurationError(
            f"force_words_ids must be a list of token-id lists (phrases) or of lists of them (alternatives), got "
            f"{force_words_ids!r}.")
    for words in force_words_ids:
        if isinstance(words, list) and words and isinstance(words[0], list):
            found.append(DisjunctiveConstraint(words))
        else:
            found.append(PhrasalConstraint(words))
    return found


__all__ = ["Constraint", "ConstraintListState", "DisjunctiveConstraint", "DisjunctiveTrie", "PhrasalConstraint",
           "constraints_from_config"]
