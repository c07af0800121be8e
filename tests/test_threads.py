"""Decoders used from many threads: each works, or refuses clearly, never corrupts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from chunkfold import ChunkDecoder, ConcurrentUseError, SSEDecoder
from chunkfold.corpus import chat_stream, reads

BODY = chat_stream(200)
EXPECTED = len(ChunkDecoder().feed(BODY))


def decode_alone(seed: int) -> int:
    decoder = ChunkDecoder()
    chunks = [c for piece in reads(BODY, "random", seed=seed) for c in decoder.feed(piece)]
    return len(chunks + decoder.finish())


def test_unshared_decoders_in_a_pool_of_16() -> None:
    with ThreadPoolExecutor(16) as pool:
        assert list(pool.map(decode_alone, range(64))) == [EXPECTED] * 64


def test_shared_decoder_fed_whole_events_from_16_threads() -> None:
    decoder = SSEDecoder()
    frame = b"data: x\n\n"

    def feed(_: int) -> int:
        while True:
            try:
                return len(decoder.feed(frame))
            except ConcurrentUseError:
                continue

    with ThreadPoolExecutor(16) as pool:
        assert sum(pool.map(feed, range(2000))) == 2000
    assert decoder.position == 2000 * len(frame)
