"""Context novelty: has this value been seen after these values, or this often at this hour?

Causal and label-free, one configuration for every stream (the NAB rules). The idea is the one
behind HTM and CAD-OSE (context = the symbols a value follows; novelty = the share of its
contexts never seen), done with plain sets and counters, scored by Numenta's anomaly
likelihood. From ARTime (AGPL: its documentation read, no code taken) only what ``quiet`` and
the app's probation already do: silence after a detection, and learning before reporting; its
adaptive-resonance categories of windowed features are not taken:

1. symbols: each value is quantised at two resolutions (5 and 10 bins) over the range seen so
   far; when a value leaves that range by more than ``grow`` of its span the bins are redrawn
   and the retained history (``keep`` samples) is replayed into the sequence features, so
   contexts stay consistent (the daily counts start afresh: no times are kept to replay);
2. sequence novelty: the share of features never seen before, where a feature is "this symbol
   after these 1..6 symbols" at each resolution;
3. daily rarity: whether this coarse symbol has been seen in fewer than ``daily_rare`` of the
   samples at this hour of day (once ``daily_min`` samples were seen at that hour): a pattern
   that breaks its daily shape stays rare for as long as it lasts, where a sequence stops being
   novel after its first samples. Before that hour has ``daily_min`` samples (a series' first
   day, and the day after its bins are redrawn) the channel is silent and its likelihood is
   not fed: fed zeros, its history said "never rare", so the first rare symbols of the day it
   woke up scored the likelihood's top (19 of the 78 false detections in NAB's development
   files cut to 1,600 rows, at the app's threshold with no probation; ``make bench-nab-cv``
   scores such cut files);
4. likelihood: for each channel, the mean of the last few values against the distribution of
   that mean over the last ``hist`` samples (re-estimated every 100); its Gaussian tail on a log
   scale is the score, as in Numenta's anomaly likelihood, so a stream that is always novel
   (noise) stops scoring high. The daily channel counts as much as the sequence one (it was
   weighted 0.9 once, chosen in-sample; leaving one NAB category group out at a time, two of
   three folds chose no weight, so the constant is gone: ``make bench-nab-cv``);
5. spatial: a value beyond the range seen so far by more than ``spatial`` of its span scores 1.
   The range narrows again (checked every 100 samples) when the kept values (``keep``
   samples) less a glitch at either end span less than ``shrink`` of it: then the bins are
   redrawn over them (one bad scrape, 2**47 from a DCGM blank, put every later value in one
   bin and blinded the series for good; then, while it stayed in the kept history, about
   21 h at a 15 s poll). A glitch is a run of at most ``quiet`` consecutive values beyond
   all the others: one occurrence, like a single bad value. A spike that recurs apart
   in time holds the range, and so does a longer run (a daily plateau). See
   ``_glitchless``;
6. reporting: a score is passed on only when it beats every score of the last ``onset``
   samples, and after a score of ``fire`` or more the next ``quiet`` samples are silent, so an
   episode yields one early detection instead of a run of false positives. A new extreme
   (spatial) is passed on too once that silence has passed, though an earlier one scored the
   same top within ``onset``, where it lies beyond the range seen at the last detection by
   that range's span again: nothing can beat 1.0, and a harmless new low of noise had hidden
   a saturation (CPU 10 % -> 95 % for 75 min) or an escalation (p99 6.5 ms -> 2 s) starting
   within the next 100 samples (a review's defect, not chosen on a score); a series that
   keeps growing is reported once each time its range doubles (``_beyond_fired``).
"""

from __future__ import annotations

import math
import statistics
import sys
from collections import Counter, deque

import numpy as np
import numpy.typing as npt

from analysis.detectors.base import log_tail_score

ESTIMATE_EVERY = 100
#: the samples the detector stays silent after it reports (its ``quiet``'s default)
QUIET = 20


Symbol = tuple[int, ...]


class _Ring:
    """The last ``size`` values in one numpy array (of ``dtype``) that grows (doubling) to
    ``size`` as samples come (a deque of floats costs four times more, and a full-size array
    up front most of a young series' memory: the live path keeps one detector per series)."""

    def __init__(self, size: int, dtype: npt.DTypeLike = np.float64) -> None:
        self._size = size
        self._data = np.empty(min(size, 64), dtype=dtype)
        self._n = 0

    def append(self, value: float) -> None:
        if self._n == self._data.size and self._n < self._size:  # still filling: grow
            more = np.empty(min(self._n, self._size - self._n), dtype=self._data.dtype)
            self._data = np.concatenate((self._data, more))
        self._data[self._n % self._data.size] = value
        self._n += 1

    def __len__(self) -> int:
        return min(self._n, self._data.size)

    def values(self) -> np.ndarray:
        """Oldest first."""
        if self._n <= self._data.size:
            return self._data[: self._n]
        start = self._n % self._data.size
        return np.concatenate((self._data[start:], self._data[:start]))


def _glitchless(kept: np.ndarray, most: int) -> tuple[float, float]:
    """The lowest and highest of ``kept`` (oldest first) less a glitch at either end: the
    widest run of at most ``most`` consecutive values that all lie beyond every other one.
    A run counts as one occurrence, as the reporting rules count one episode within their
    silence (``quiet``, passed as ``most``): a bad scrape read twice held the range open
    where one read once did not. So what holds the range recurs apart in time, or lasts
    longer than a glitch: a daily plateau (a job's hours, entered by a jump) is seen once in
    the kept history, and dropped like a glitch it narrowed the range every day after it,
    so that every day's plateau was out of range again."""
    n = kept.size
    ranks = min(most, n - 2) + 1  # the values looked at from either end: a run and one more
    part = np.argpartition(kept, sorted({ranks - 1, n - ranks}))
    lowest, highest = part[:ranks], part[n - ranks :]
    return (
        _past_run(kept, lowest[np.argsort(kept[lowest])]),
        _past_run(kept, highest[np.argsort(-kept[highest])]),
    )


def _past_run(kept: np.ndarray, inward: np.ndarray) -> float:
    """The first value past the widest run among ``inward[:-1]`` (indices of kept values,
    from an extreme inward): the extreme itself where none is a run (it recurs apart)."""
    ranked = kept[inward]
    first, last = np.minimum.accumulate(inward)[:-1], np.maximum.accumulate(inward)[:-1]
    # the first j + 1 are consecutive, and beyond the rest (no tie of the last one left out)
    run = (last - first + 1 == np.arange(1, inward.size)) & (ranked[:-1] != ranked[1:])
    hits = np.flatnonzero(run)
    return float(ranked[hits[-1] + 1] if hits.size else ranked[0])


class _Features:
    """The sequence features seen so far, as integer codes: a sorted array (int32 where the
    codes fit, as the detector's do: 4 bytes a feature, where a set of Python ints takes
    about 70 and the int64 hashes once kept took 8: the live path keeps one per series) and a
    small set of the newest, merged into the array now and then. Bounded: once the array
    holds GENERATION features it becomes the previous generation and a new one starts; a
    feature of the previous generation seen again is carried into the new one, one of the
    generation before is forgotten (novel again). No development file of NAB reaches a
    generation (the most, art_noisy's, 26,986), so what it scores is as before; a noise
    stream of a month at 15 s would otherwise hold about 4 MB."""

    MERGE_AT = 512
    GENERATION = 1 << 15

    def __init__(self, dtype: npt.DTypeLike = np.int64) -> None:
        self._dtype = dtype
        self._sorted = np.empty(0, dtype=dtype)
        self._previous = np.empty(0, dtype=dtype)
        self._new: set[int] = set()

    def __len__(self) -> int:
        return self._sorted.size + len(self._new) + self._previous.size

    def clear(self) -> None:
        self._sorted = np.empty(0, dtype=self._dtype)
        self._previous = np.empty(0, dtype=self._dtype)
        self._new.clear()

    @staticmethod
    def _holds(array: np.ndarray, wanted: np.ndarray) -> np.ndarray:
        if not array.size:
            return np.zeros(wanted.size, dtype=bool)
        at = np.minimum(np.searchsorted(array, wanted), array.size - 1)
        return array[at] == wanted

    def learn(self, features: list[int]) -> int:
        """How many of ``features`` were never seen, or not in the last two generations
        (and remember them)."""
        wanted = np.array(features, dtype=self._dtype)
        known = self._holds(self._sorted, wanted)
        carried = self._holds(self._previous, wanted) & ~known
        missing = 0
        for feature, seen, old in zip(features, known.tolist(), carried.tolist(), strict=True):
            if not seen and feature not in self._new:
                missing += not old
                self._new.add(feature)
        if len(self._new) >= self.MERGE_AT:
            fresh = np.fromiter(self._new, dtype=self._dtype, count=len(self._new))
            self._sorted = np.union1d(self._sorted, fresh)
            self._new.clear()
            if self._sorted.size >= self.GENERATION:
                self._previous, self._sorted = self._sorted, np.empty(0, dtype=self._dtype)
        return missing


class _Likelihood:
    """Numenta-style anomaly likelihood of a 0..1 signal: the mean of its last ``avg`` values
    against the distribution of that mean over the last ``hist`` samples. That history is kept
    in float32 (half the bytes: the live path keeps one per series); its mean and spread,
    summed in float64, move by about 1e-7 of themselves (NAB's development scores are the
    same: 4 of 181,653 reported scores, all under 0.1, flip at a near-tie of the onset rule)."""

    def __init__(self, avg: int, hist: int, log_floor: float) -> None:
        self._recent: deque[float] = deque(maxlen=avg)
        self._means = _Ring(hist, np.float32)
        self._stats: tuple[float, float] | None = None
        self._log_floor = log_floor
        self._n = 0

    def update(self, value: float) -> float:
        self._recent.append(value)
        mean = sum(self._recent) / len(self._recent)
        score = 0.0
        if self._stats is not None:
            z = (mean - self._stats[0]) / self._stats[1]
            if z > 0:
                score = log_tail_score(z, self._log_floor)
        self._means.append(mean)
        self._n += 1
        if len(self._means) >= ESTIMATE_EVERY and (
            self._stats is None or self._n % ESTIMATE_EVERY == 0
        ):
            history = self._means.values()
            mean, std = history.mean(dtype=np.float64), history.std(dtype=np.float64)
            self._stats = (float(mean), max(float(std), 1e-3))
        return score


class ContextNoveltyDetector:
    def __init__(
        self,
        *,
        resolutions: tuple[int, ...] = (5, 10),
        orders: tuple[int, ...] = (1, 2, 3, 4, 5, 6),
        warm_up: int = 150,
        avg: int = 7,
        hist: int = 8640,
        daily_rare: float = 0.05,
        daily_min: int = 12,
        daily_avg: int = 24,
        spatial: float = 0.01,
        log_floor: float = 1e-20,
        onset: int = 100,
        fire: float = 0.5,
        quiet: int = QUIET,
        keep: int = 5000,
        grow: float = 0.1,
        shrink: float = 0.25,
        upper_only: bool = False,
    ) -> None:
        """``upper_only``: only a rise is news (latencies, error rates: the signal types'
        documented variant, ``analysis.signals``): a sample below the median of the last
        ``onset`` samples scores 0 before the reporting rules see it, so a harmless dip
        neither reports nor silences the rise after it (it did for ``onset`` samples)."""
        self.resolutions = resolutions
        self.orders = orders
        self.warm_up = warm_up
        self.daily_rare = daily_rare
        self.daily_min = daily_min
        self.spatial = spatial
        self.fire = fire
        self.quiet = quiet
        self.grow = grow
        self.shrink = shrink
        self.upper_only = upper_only
        self._recent: deque[float] | None = None  # the upper-only variant's last values
        self._kept = _Ring(keep)  # values: replayed when the bins are redrawn
        self._context: deque[Symbol] = deque(maxlen=max(orders))
        #: a feature's code: its symbol and context as the digits of a number in base r,
        #: then which order and resolution (exact, so no two features share one)
        self._order_at = {order: i for i, order in enumerate(orders)}
        codes = max(resolutions) ** (max(orders) + 1) * len(orders) * len(resolutions)
        if codes > np.iinfo(np.int64).max:
            raise ValueError("too many sequence features for 64-bit codes")
        self._seen = _Features(np.int32 if codes <= np.iinfo(np.int32).max else np.int64)
        self._at_hour: Counter[int] = Counter()
        self._symbol_at_hour: Counter[tuple[int, int]] = Counter()
        self._widths: list[float] | None = None
        self._lo = self._hi = 0.0
        self._min = math.inf
        self._max = -math.inf
        self._sequence = _Likelihood(avg, hist, log_floor)
        self._daily = _Likelihood(daily_avg, hist, log_floor)
        self._scores: deque[float] = deque(maxlen=onset)
        self._since_fired = quiet
        self._fired_range: tuple[float, float] | None = None  # the range at the last detection
        self._n = 0

    # -- symbols and novelty -------------------------------------------------------------------
    def _symbol(self, x: float) -> Symbol:
        assert self._widths is not None
        out = []
        for r, w in zip(self.resolutions, self._widths, strict=True):
            q = (x - self._lo) / w  # inf - -inf, inf / inf: a range past the floats' own
            out.append(min(r - 1, max(0, int(q))) if math.isfinite(q) else (0 if q < 0 else r - 1))
        return tuple(out)

    def _novelty(self, symbol: Symbol) -> float:
        """Share of this sample's sequence features never seen before (and learn them)."""
        history = self._context
        n = len(history)
        orders, resolutions = len(self.orders), len(self.resolutions)
        total = orders * resolutions
        features: list[int] = []  # too short a history to have a context: novel by rule
        for r, base in enumerate(self.resolutions):
            code, place = symbol[r], base  # the symbol, then each one before it, as a digit
            for depth in range(n + 1):  # n: at most the highest order
                at = self._order_at.get(depth)
                if at is not None:  # this symbol after the last ``depth`` ones
                    features.append((code * orders + at) * resolutions + r)
                if depth < n:
                    code += history[n - 1 - depth][r] * place
                    place *= base
        missing = (total - len(features)) + self._seen.learn(features)
        history.append(symbol)
        return missing / total

    def _rarity(self, symbol: Symbol, timestamp: float) -> float | None:
        """1 when the coarse symbol is rare at this hour of day, 0 when not, None while this
        hour has fewer than ``daily_min`` samples (and count it)."""
        hour = int((timestamp % 86400) // 3600)
        seen, count = self._at_hour[hour], self._symbol_at_hour[hour, symbol[0]]
        self._at_hour[hour] += 1
        self._symbol_at_hour[hour, symbol[0]] += 1
        if seen < self.daily_min:
            return None
        return 1.0 if count < self.daily_rare * seen else 0.0

    def _redraw_bins(self) -> None:
        span = self._hi - self._lo
        if span <= 0:
            span = max(abs(self._hi) * 0.2, 1e-9)
        # a span of a few denormals divides to 0: the smallest normal float is the least width
        self._widths = [max(span / r, sys.float_info.min) for r in self.resolutions]
        self._seen.clear()
        self._context.clear()
        self._at_hour.clear()
        self._symbol_at_hour.clear()
        for v in self._kept.values().tolist():
            self._novelty(self._symbol(v))

    def _narrow_to_kept(self, x: float, span: float) -> None:
        """Redraw the bins over the kept values less a glitch at either end (``_glitchless``)
        where those span less than ``shrink`` of the range: what widened it was a glitch (a
        bad scrape of one poll or a few), or has left the kept history. A glitch held the
        range open until it left the kept history (about 21 h at a 15 s poll, a doubling of
        the value meanwhile missed); a spike that recurs apart in time does hold it, so it is
        remembered. Not a quantile: 0.5 % of the kept history forgot a spike that recurs
        fewer than 25 times in it, and reported each one as out of range."""
        kept = self._kept.values()
        if kept.size < 3:
            return
        lo, hi = _glitchless(kept, self.quiet)
        if hi - lo < self.shrink * span:  # floats: an inf span, not an overflow
            self._lo, self._hi = min(lo, x), max(hi, x)
            self._min, self._max = self._lo, self._hi
            self._redraw_bins()

    # -- the score -----------------------------------------------------------------------------
    def _spatial(self, x: float) -> bool:
        if not self._max > self._min:
            return False
        tolerance = (self._max - self._min) * self.spatial
        return x > self._max + tolerance or x < self._min - tolerance

    def _raw_score(self, timestamp: float, x: float) -> tuple[float, bool]:
        """The sample's score, and whether it lies beyond the range seen (spatial)."""
        self._n += 1
        spatial = self._spatial(x)
        self._min, self._max = min(self._min, x), max(self._max, x)
        if self._widths is None:
            self._kept.append(x)
            if self._n >= self.warm_up:
                self._lo, self._hi = self._min, self._max
                self._redraw_bins()
            return 0.0, False
        span = self._hi - self._lo
        if x < self._lo - self.grow * span or x > self._hi + self.grow * span:
            self._lo, self._hi = min(self._lo, x), max(self._hi, x)
            self._redraw_bins()
        elif self._n % ESTIMATE_EVERY == 0:
            self._narrow_to_kept(x, span)
        self._kept.append(x)
        symbol = self._symbol(x)
        sequence = self._sequence.update(self._novelty(symbol))
        rare = self._rarity(symbol, timestamp)
        daily = 0.0 if rare is None else self._daily.update(rare)
        return (1.0, True) if spatial else (max(sequence, daily), False)

    def update(self, timestamp: float, value: float) -> float:
        score, new_extreme = self._raw_score(float(timestamp), float(value))
        if self.upper_only:
            if self._recent is None:
                self._recent = deque(maxlen=self._scores.maxlen)
            below = bool(self._recent) and value < statistics.median(self._recent)
            self._recent.append(float(value))
            score = 0.0 if below else score
        news = new_extreme and score > 0 and self._beyond_fired(value)
        onset = not self._scores or score > max(self._scores) or news
        self._scores.append(score)
        self._since_fired += 1
        if not onset or self._since_fired <= self.quiet:
            return 0.0
        if score >= self.fire:
            self._since_fired = 0
            self._fired_range = self._min, self._max
        return score

    def _beyond_fired(self, x: float) -> bool:
        """Whether a new extreme is news though an earlier one scored the same top within the
        onset window: beyond the range seen at the last detection by that range's span again
        (a harmless new low of noise had hidden a saturation 10 % -> 95 %; a series growing
        by 1 % a sample, a new extreme every sample, had reported one every ``quiet``
        samples: now once each time its range doubles)."""
        if self._fired_range is None:
            return True
        lo, hi = self._fired_range
        return x > hi + (hi - lo) or x < lo - (hi - lo)
