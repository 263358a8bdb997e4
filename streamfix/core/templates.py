"""Online log template miner: each line gets a group id and a template with ``<*>`` for variables.

How a line is grouped:

1. **Shape cache.** The line with every digit replaced by ``0`` is looked up in a dict. Every token
   that contains a digit is a variable (see :mod:`streamfix.core.params`), so two lines that differ only
   in digits always get the same template; most lines cost one ``translate`` and one dict lookup.
2. On a miss, runs of hex characters holding a digit (UUIDs, hashes) are collapsed and that key is
   looked up in a second cache, so lines that differ only in such ids still skip the regexes.
3. On a miss there too, the header is cut off (:mod:`streamfix.core.headers`), the message is masked
   (:func:`streamfix.core.params.mask`) and split into tokens. A group whose template has the same
   number of tokens and matches every constant token takes the line.
4. Otherwise a new group is created. For each of its constant positions the miner records which
   value it had among templates that are otherwise equal. When one position has shown
   ``variability_threshold`` distinct values (``trailing_threshold`` for the last token, which is
   more often an argument such as a user or file name), it is a variable: those groups are merged
   into the oldest one, whose template gets ``<*>`` there, and any other group the new template
   covers is merged too. Small enumerations (``GET``/``POST``, ``Started``/``Stopped``) stay apart.

Merges never lose counts: the merged group's id becomes an **alias** of the surviving one
(:meth:`TemplateMiner.resolve`, :attr:`TemplateMiner.aliases`). Group ids are derived from the first
template of the group (``t`` + 12 hex digits), so the same input gives the same ids in any process.

Memory is bounded: at most ``max_groups`` groups (the least-seen tenth is evicted when the cap is
reached, and aliases to them dropped), ``max_aliases`` aliases, ``max_shapes`` entries per shape
cache (keys up to 1,024 characters; longer lines are not cached), and
variability records only for the first 48 positions of live groups (stored as fixed-size digests).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from streamfix.core.headers import strip_header
from streamfix.core.params import PARAMS_VERSION, WILDCARD, mask

logger = logging.getLogger(__name__)

STATE_VERSION = 1
# Only the first tokens of a template are watched for variability: it keeps the per-group memory
# linear in the line length, and the positions that tell events apart come early.
_MAX_VARIABLE_POSITIONS = 48
_MAX_CACHED_KEY = 1024
_DIGITS_TO_ZERO = str.maketrans("0123456789", "0000000000")
_BYTES_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0000000000")
# A run of hex characters that holds a digit (ids, hashes, UUID parts, numbers) always ends up inside
# a ``<*>`` of :func:`mask`, so such runs can be collapsed in the key of the second-level cache.
_HEX_RUNS = re.compile(r"(?<![0-9a-fA-F])[a-fA-F]*+[0-9][0-9a-fA-F]*+")
# Rare variables. A value seen only a few times (a user or host name) never reaches the variability
# threshold, so one message type would stay split into one template per value. A position is a
# variable after only ``rare_threshold`` distinct values when the token before it names what follows
# (``user``, ``host``, ``file``...), or when every value seen there has the shape of a dotted name (a
# class, module or host: ``org.foo.Bar``, ``db-1.internal``).
NAMING_WORDS = frozenset({
    "user", "username", "login", "ruser", "owner", "account", "host", "hostname", "rhost", "node", "server",
    "client", "peer", "address", "addr", "domain", "url", "uri", "email", "file", "filename", "path",
    "directory", "dir", "folder", "table", "database", "db", "schema", "queue", "topic", "bucket", "class",
    "module", "package", "container", "pod", "image", "namespace", "cluster", "zone", "region", "device",
    "interface", "volume", "disk", "key", "name", "tag", "branch", "repo", "repository", "project",
})
_DOTTED_NAME = re.compile(r"[A-Za-z_][\w$-]*(?:\.[A-Za-z_$][\w$-]*)+[:,;]?")
_NEVER = 1 << 30
_WORD_PUNCT = str.maketrans("", "", "\"'()[]{}<>:,;=")


@dataclass(slots=True)
class TemplateGroup:
    """One group of lines. ``template`` changes when the group absorbs others."""

    id: str
    template: str
    count: int
    seq: int
    tokens: tuple[str, ...] = field(repr=False)
    sibling_keys: list[str] = field(default_factory=list, repr=False)
    general: bool = field(default=False, repr=False)  # its template was widened by a merge


class TemplateMiner:
    """Assign each log line to a template group, learning and merging templates as lines arrive."""

    def __init__(
        self,
        *,
        variability_threshold: int = 10,
        trailing_threshold: int = 8,
        rare_threshold: int = 2,
        max_groups: int = 20_000,
        max_aliases: int = 100_000,
        max_shapes: int = 100_000,
        strip_headers: bool = True,
    ) -> None:
        if min(variability_threshold, trailing_threshold, rare_threshold) < 2:
            raise ValueError("variability_threshold, trailing_threshold and rare_threshold must be at least 2")
        if max_groups < 10:
            raise ValueError("max_groups must be at least 10")
        self.variability_threshold = variability_threshold
        self.trailing_threshold = trailing_threshold
        self.rare_threshold = rare_threshold
        self.max_groups = max_groups
        self.max_aliases = max_aliases
        self.max_shapes = max_shapes
        self.strip_headers = strip_headers
        self._groups: dict[str, TemplateGroup] = {}
        self._aliases: dict[str, str] = {}
        self._aliased_to: dict[str, set[str]] = {}  # surviving id -> the ids that alias it
        # Groups by token count, then by first token (``<*>`` when the template starts with one); the
        # widened ones again on their own, since only they can match a shape other than their own.
        self._index: dict[int, dict[str, list[str]]] = {}
        self._general: dict[int, dict[str, list[str]]] = {}
        self._templates: dict[str, str] = {}
        self._siblings: dict[str, dict[str, str]] = {}
        self._lines: dict[str | bytes, str] = {}
        self._coarse: dict[str, str] = {}
        self._shapes: dict[str, str] = {}
        self._seq = 0
        self._recent_merges: deque[tuple[str, str]] = deque(maxlen=10_000)
        self.merges = 0
        self.evictions = 0

    # -- the hot path -------------------------------------------------------------------------

    def add(self, line: str) -> tuple[str, str]:
        """Group ``line`` (a raw log line, or a bare message) and return ``(group_id, template)``."""
        key = line.translate(_DIGITS_TO_ZERO)
        group = self._groups.get(self._aliases.get(gid, gid)) if (gid := self._lines.get(key)) else None
        if group is None:
            group = self._learn(line, key)
        group.count += 1
        return group.id, group.template

    def add_bytes(self, line: bytes) -> tuple[str, str]:
        """Like :meth:`add` for a UTF-8 encoded line (undecodable bytes are replaced)."""
        key = line.translate(_BYTES_DIGITS_TO_ZERO)
        group = self._groups.get(self._aliases.get(gid, gid)) if (gid := self._lines.get(key)) else None
        if group is None:
            group = self._learn(line.decode("utf-8", "replace"), key)
        group.count += 1
        return group.id, group.template

    # -- aliases and inspection -----------------------------------------------------------------

    @property
    def aliases(self) -> dict[str, str]:
        """Every merged group id mapped to the id of the group that absorbed it (a copy)."""
        return dict(self._aliases)

    def take_merges(self) -> list[tuple[str, str]]:
        """Return the ``(merged_id, surviving_id)`` pairs recorded since the last call (at most the
        last 10,000), and forget them. The full, current map stays in :attr:`aliases`."""
        merges = list(self._recent_merges)
        self._recent_merges.clear()
        return merges

    def resolve(self, group_id: str) -> str:
        """Return the current canonical id for ``group_id`` (itself when it was never merged)."""
        return self._aliases.get(group_id, group_id)

    def template(self, group_id: str) -> str | None:
        """Return the current template of ``group_id`` (after alias resolution), if still known."""
        group = self._groups.get(self.resolve(group_id))
        return None if group is None else group.template

    def groups(self) -> list[TemplateGroup]:
        """The live groups, oldest first."""
        return sorted(self._groups.values(), key=lambda group: group.seq)

    def __len__(self) -> int:
        return len(self._groups)

    # -- learning -------------------------------------------------------------------------------

    def _learn(self, line: str, key: str | bytes) -> TemplateGroup:
        coarse = _HEX_RUNS.sub("0", line)
        gid = self._coarse.get(coarse)
        group = self._groups.get(self._aliases.get(gid, gid)) if gid else None
        if group is None:
            message = strip_header(line) if self.strip_headers else line
            shape = " ".join(mask(message).split())
            gid = self._shapes.get(shape)
            group = self._groups.get(self._aliases.get(gid, gid)) if gid else None
            if group is None:
                tokens = tuple(shape.split(" "))
                group = self._match(shape, tokens) or self._create(shape, tokens)
                self._remember(self._shapes, shape, group.id)
            self._remember(self._coarse, coarse, group.id)
        self._remember(self._lines, key, group.id)
        return group

    def _remember(self, cache: dict[Any, str], key: str | bytes, group_id: str) -> None:
        if len(key) > _MAX_CACHED_KEY:
            return  # rare very long lines take the slow path each time rather than pin memory
        if len(cache) >= self.max_shapes:
            cache.clear()
        cache[key] = group_id

    def _match(self, shape: str, tokens: tuple[str, ...]) -> TemplateGroup | None:
        gid = self._templates.get(shape)
        if gid is not None:
            return self._groups[gid]
        buckets = self._general.get(len(tokens))
        if not buckets:
            return None
        for bucket in (buckets.get(tokens[0], ()), buckets.get(WILDCARD, ())):
            for gid in bucket:
                group = self._groups[gid]
                if all(t in (s, WILDCARD) for t, s in zip(group.tokens, tokens, strict=True)):
                    return group
        return None

    def _index_add(self, group: TemplateGroup) -> None:
        self._templates[group.template] = group.id
        for index in (self._index, self._general) if group.general else (self._index,):
            index.setdefault(len(group.tokens), {}).setdefault(group.tokens[0], []).append(group.id)

    def _index_remove(self, group: TemplateGroup) -> None:
        del self._templates[group.template]
        for index in (self._index, self._general) if group.general else (self._index,):
            buckets = index[len(group.tokens)]
            bucket = buckets[group.tokens[0]]
            bucket.remove(group.id)
            if not bucket:
                del buckets[group.tokens[0]]

    def _new_id(self, shape: str) -> str:
        base = "t" + hashlib.blake2b(shape.encode(), digest_size=6).hexdigest()
        gid, suffix = base, 1
        while gid in self._groups or gid in self._aliases:
            suffix += 1
            gid = f"{base}-{suffix}"
        return gid

    def _create(self, shape: str, tokens: tuple[str, ...]) -> TemplateGroup:
        if len(self._groups) >= self.max_groups:
            self._evict()
        self._seq += 1
        group = TemplateGroup(self._new_id(shape), shape, 0, self._seq, tokens)
        self._groups[group.id] = group
        self._index_add(group)
        full = self._register(group)
        return group if full is None else self._merge_variable(*full, group)

    def _register(self, group: TemplateGroup) -> tuple[dict[str, str], int] | None:
        """Record the group's value at each constant position; return the first position that has
        now shown enough distinct values to be a variable (with its record), if any."""
        tokens = group.tokens
        if sum(token != WILDCARD for token in tokens) < 2:
            return None  # turning its only constant into a variable would leave nothing to match on
        for position, token in enumerate(tokens[:_MAX_VARIABLE_POSITIONS]):
            if token == WILDCARD:
                continue
            rest = " ".join((*tokens[:position], WILDCARD, *tokens[position + 1 :]))
            skeleton = f"{position}|" + hashlib.blake2b(rest.encode(), digest_size=12).hexdigest()
            values = self._siblings.setdefault(skeleton, {})
            values.setdefault(token, group.id)
            if skeleton not in group.sibling_keys:
                group.sibling_keys.append(skeleton)
            if len(values) >= self._threshold(tokens, position, values):
                return values, position
        return None

    def _threshold(self, tokens: tuple[str, ...], position: int, values: dict[str, str]) -> int:
        """How many distinct values make ``position`` a variable (see :data:`NAMING_WORDS`)."""
        if len(values) < self.rare_threshold:
            return self.rare_threshold
        if position and tokens[position - 1].translate(_WORD_PUNCT).lower() in NAMING_WORDS:
            return self.rare_threshold
        if all(_DOTTED_NAME.fullmatch(value) for value in values):
            return self.rare_threshold
        if position == 0:
            # The leading word names the event (a daemon, a verb), as in Drain's first-token layer: it
            # never becomes a variable by count alone.
            return _NEVER
        return self.trailing_threshold if position == len(tokens) - 1 else self.variability_threshold

    def _merge_variable(self, values: dict[str, str], position: int, newest: TemplateGroup) -> TemplateGroup:
        live = {self._aliases.get(gid, gid) for gid in values.values()} | {newest.id}
        members = [self._groups[gid] for gid in live if gid in self._groups]
        target = min(members, key=lambda group: group.seq)
        merged = list(target.tokens)
        merged[position] = WILDCARD
        for other in members:
            merged = [t if t == o else WILDCARD for t, o in zip(merged, other.tokens, strict=True)]
        self._set_template(target, tuple(merged))
        buckets = self._index[len(merged)]
        first = target.tokens[0]
        candidates = (
            [g for bucket in buckets.values() for g in bucket] if first == WILDCARD else buckets[first]
        )
        for gid in list(candidates):
            other = self._groups[gid]
            if other is not target and all(
                t in (o, WILDCARD) for t, o in zip(target.tokens, other.tokens, strict=True)
            ):
                self._absorb(target, other)
        full = self._register(target)  # its new template can vary further at other positions
        return target if full is None else self._merge_variable(*full, target)

    def _set_template(self, group: TemplateGroup, tokens: tuple[str, ...]) -> None:
        self._index_remove(group)
        group.tokens = tokens
        group.template = " ".join(tokens)
        group.general = True
        self._index_add(group)

    def _absorb(self, target: TemplateGroup, other: TemplateGroup) -> None:
        logger.debug("merging template group", extra={"group": other.id, "into": target.id})
        self.merges += 1
        target.count += other.count
        self._drop(other)
        members = self._aliased_to.pop(other.id, set())
        if other.count:  # a group created by the line that caused the merge was never handed out
            members.add(other.id)
            self._recent_merges.append((other.id, target.id))
        for alias in members:
            self._aliases[alias] = target.id
        if members:
            self._aliased_to.setdefault(target.id, set()).update(members)
        while len(self._aliases) > self.max_aliases:
            oldest = next(iter(self._aliases))
            self._aliased_to[self._aliases.pop(oldest)].discard(oldest)

    def _drop(self, group: TemplateGroup) -> None:
        del self._groups[group.id]
        self._index_remove(group)
        for skeleton in group.sibling_keys:
            values = self._siblings.get(skeleton)
            if values is not None:
                for token in [t for t, g in values.items() if g == group.id]:
                    del values[token]
                if not values:
                    del self._siblings[skeleton]

    def _evict(self) -> None:
        victims = sorted(self._groups.values(), key=lambda group: (group.count, group.seq))
        victims = victims[: max(1, len(victims) // 10)]
        for group in victims:
            self._drop(group)
            for alias in self._aliased_to.pop(group.id, ()):
                del self._aliases[alias]
        self.evictions += len(victims)
        logger.info("evicted template groups", extra={"evicted": len(victims), "kept": len(self._groups)})

    # -- state ----------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """Return the learned state as plain JSON-able data (shape caches are rebuilt on demand)."""
        return {
            "version": STATE_VERSION,
            "params_version": PARAMS_VERSION,
            "config": {
                "variability_threshold": self.variability_threshold,
                "trailing_threshold": self.trailing_threshold,
                "rare_threshold": self.rare_threshold,
                "max_groups": self.max_groups,
                "max_aliases": self.max_aliases,
                "max_shapes": self.max_shapes,
                "strip_headers": self.strip_headers,
            },
            "seq": self._seq,
            "merges": self.merges,
            "evictions": self.evictions,
            "groups": [
                {
                    "id": g.id,
                    "tokens": list(g.tokens),
                    "count": g.count,
                    "seq": g.seq,
                    "siblings": g.sibling_keys,
                    "general": g.general,
                }
                for g in self.groups()
            ],
            "aliases": dict(self._aliases),
            "siblings": {skeleton: dict(values) for skeleton, values in self._siblings.items()},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TemplateMiner:
        """Rebuild a miner from :meth:`to_state` output."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported template miner state version: {state.get('version')!r}")
        if state.get("params_version") != PARAMS_VERSION:
            logger.warning(
                "template state was built with other parameterisation rules; old templates may not match",
                extra={"state_params_version": state.get("params_version"), "params_version": PARAMS_VERSION},
            )
        miner = cls(**state["config"])
        miner._seq = int(state["seq"])
        miner.merges = int(state["merges"])
        miner.evictions = int(state["evictions"])
        for item in state["groups"]:
            tokens = tuple(str(token) for token in item["tokens"])
            group = TemplateGroup(
                str(item["id"]), " ".join(tokens), int(item["count"]), int(item["seq"]), tokens
            )
            group.sibling_keys = [str(key) for key in item["siblings"]]
            group.general = bool(item["general"])
            miner._groups[group.id] = group
            miner._index_add(group)
        miner._aliases = {str(a): str(c) for a, c in state["aliases"].items()}
        for alias, canonical in miner._aliases.items():
            miner._aliased_to.setdefault(canonical, set()).add(alias)
        miner._siblings = {
            str(k): {str(t): str(g) for t, g in v.items()} for k, v in state["siblings"].items()
        }
        return miner
