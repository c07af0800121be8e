"""The text that :mod:`chunkfold.bench.corpus` streams: English-ish tokens, tool call
arguments, logprobs entries, and CJK text with emoji. Everything is drawn from
a seeded :class:`random.Random`, so the same seed gives the same text."""

from __future__ import annotations

import random
import re
from typing import Any, Final

__all__ = ["cjk_tokens", "fragments", "logprob_entry", "tool_calls", "words"]

# Common English words, with a few non-ASCII ones so that reads cut UTF-8
# sequences. Tokens are drawn uniformly from it.
_WORD_TEXT: Final = (
    "the of and to a in is that for it as was with be by on not he this are or his from at which "
    "but have an they you were her she there one all we their can has been if more when will "
    "would who so no time people year way day man thing woman life child world school state "
    "family student group country problem hand part place case week company system program "
    "question work government number night point home water room mother area money story fact "
    "month lot right study book eye job word business issue side kind head house service friend "
    "father power hour game line end member law car city community name president team minute "
    "idea kid body information back parent face others level office door health person art war "
    "history party result change morning reason research girl guy moment air teacher force "
    "education good new first last long great little own other old big high different small "
    "large next early young important few public bad same able make know take see come think "
    "look want give use find tell ask seem feel try leave call keep provide hold turn follow "
    "begin bring show hear play run move live believe happen write sit stand lose pay meet "
    "include continue set learn lead understand watch stop create speak read allow add spend "
    "grow open walk win offer remember consider appear buy wait serve die send expect build stay "
    "fall cut reach kill remain suggest raise pass sell require report decide pull however often "
    "usually quickly carefully simply especially example pattern stream token model response "
    "request chunk parser buffer latency café naïve résumé façade coördinate"
)
_WORDS: Final = tuple(_WORD_TEXT.split())
_PUNCT: Final = (",", ".", ";", ":", "\u2019s", " \u2014", ".\n\n")
_PUNCT_WEIGHTS: Final = (10, 8, 1, 1, 2, 1, 2)


def words(count: int, *, seed: int = 0) -> list[str]:
    """Returns ``count`` English-ish tokens as a model streams them.

    Words carry a leading space, sentences start capitalised, punctuation
    (including ``".\\n\\n"`` paragraph breaks) comes as separate tokens, and
    the text ends with ``"."``. The same ``count`` and ``seed`` give the same text.
    """
    rng = random.Random(f"words:{seed}")
    last = count - 1 if count > 1 else count
    out: list[str] = []
    sentence_start = True
    since_punct = 0
    while len(out) < last:
        if since_punct >= 3 and len(out) < last - 1 and rng.random() < 0.18:
            mark = rng.choices(_PUNCT, _PUNCT_WEIGHTS)[0]
            out.append(mark)
            since_punct = 0
            sentence_start = mark.startswith(".")
            continue
        word = rng.choice(_WORDS)
        if sentence_start:
            word = word.capitalize()
        out.append(word if not out or out[-1].endswith("\n") else " " + word)
        since_punct += 1
        sentence_start = False
    if count > 1:
        out.append(".")
    return out


# --- tool calls

_CITIES: Final = ("San Francisco, CA", "Tōkyō", "São Paulo", "Zürich", "Reykjavík", "Cape Town", "Kraków")
_AIRPORTS: Final = ("SFO", "NRT", "GRU", "ZRH", "KEF", "CPT", "KRK", "JFK", "LHR", "SIN")
# A word, a number, up to three punctuation marks, or any one character: what
# gpt-4o's tokens look like inside tool arguments ('{"', 'city', '":"', ' City').
_ARG_TOKEN: Final = re.compile(r" ?[^\W\d_]+| ?\d{1,3}|[^\w ]{1,3}|.", re.DOTALL)


def tool_calls(rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    """Three calls' names and arguments: nested objects, lists, numbers, booleans,
    escaped quotes and newlines, and non-ASCII text."""
    weather = {
        "location": rng.choice(_CITIES),
        "unit": rng.choice(("celsius", "fahrenheit")),
        "days": rng.randint(1, 10),
        "include": rng.sample(("hourly", "alerts", "air_quality", "uv_index", "pollen"), 3),
    }
    origin, destination = rng.sample(_AIRPORTS, 2)
    flights = {
        "origin": origin,
        "destination": destination,
        "date": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "passengers": {"adults": rng.randint(1, 3), "children": rng.randint(0, 2)},
        "cabin": rng.choice(("economy", "premium_economy", "business")),
        "max_stops": rng.randint(0, 2),
        "flexible_dates": rng.random() < 0.5,
        "budget": {"amount": round(rng.uniform(300, 4000), 2), "currency": "EUR"},
    }
    body = "".join(words(60, seed=rng.randrange(1 << 30))).strip()
    note = {
        "title": "".join(words(6, seed=rng.randrange(1 << 30))).strip(),
        "body": f'{body} She said "ship it" \u2014 d\u00e9j\u00e0 vu.\nEnd.',
        "tags": rng.sample(("travel", "work", "ideas", "todo", "weather"), 2),
        "pinned": False,
        "reminder": None,
    }
    return [("get_weather", weather), ("search_flights", flights), ("create_note", note)]


def fragments(text: str, rng: random.Random) -> list[str]:
    """``text`` cut into token-sized pieces; long words are cut again."""
    out: list[str] = []
    for piece in _ARG_TOKEN.findall(text):
        while len(piece) > 7:
            cut = rng.randint(3, 6)
            out.append(piece[:cut])
            piece = piece[cut:]
        out.append(piece)
    return out


# --- logprobs


def logprob_entry(token: str, rng: random.Random) -> dict[str, Any]:
    """A ``logprobs.content`` entry with five ``top_logprobs``, most likely first."""
    alternatives = [w for w in rng.sample(_WORDS, 5) if w.strip() != token.strip()][:4]
    if token.startswith(" "):
        alternatives = [" " + w for w in alternatives]
    logprob = -round(rng.expovariate(4.0) + 1e-6, 8)
    top = [(token, logprob)]
    top += [(w, round(logprob - rng.uniform(0.05, 8.0), 8)) for w in alternatives]
    if len(top) < 5:
        top.append(("<|end|>", -20.0))
    top.sort(key=lambda pair: -pair[1])
    entries = [{"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in top]
    return {"token": token, "logprob": logprob, "bytes": list(token.encode()), "top_logprobs": entries}


# --- CJK and emoji

_CJK_TEXTS: Final = (
    "流式响应把回答拆成许多小块，每一块都是一个完整的事件。解析器必须在任意位置切开的读取中"  # noqa: RUF001
    "找到事件边界，而且不能丢失任何字符。中文、日文和韩文都使用多字节编码，所以切分常常落在字符中间。",  # noqa: RUF001
    "ストリーミング応答は小さなチャンクに分かれて届きます。パーサーはどこで区切られた読み取りでも"
    "イベントの境界を見つけなければなりません。漢字とひらがなとカタカナが混ざっています。",
    "스트리밍 응답은 작은 조각으로 나뉘어 도착합니다. 파서는 임의의 위치에서 잘린 읽기에서도 "
    "이벤트 경계를 찾아야 합니다. 한글은 세 바이트 문자입니다.",
)
# Four-byte characters, skin tones, flags, variation selectors and ZWJ sequences.
_EMOJI: Final = (
    "😀",
    "🚀",
    "👍🏽",
    "👩\u200d💻",
    "🇯🇵",
    "❤\ufe0f",
    "🎉",
    "🧑\u200d🤝\u200d🧑",
    "🙏",
    "✨",
    "🦀",
    "🐍",
)


def cjk_tokens(count: int, rng: random.Random) -> list[str]:
    """``count`` tokens of CJK text of one to three characters, with emoji, some of whose
    code points are split across two tokens as byte-level tokenizers do."""
    out: list[str] = []
    text, pos = rng.choice(_CJK_TEXTS), 0
    while len(out) < count:
        if rng.random() < 0.08:
            emoji = rng.choice(_EMOJI)
            if len(emoji) > 1 and rng.random() < 0.5:
                cut = rng.randrange(1, len(emoji))
                out += [emoji[:cut], emoji[cut:]]
            else:
                out.append(emoji)
            continue
        if pos >= len(text):
            text, pos = rng.choice(_CJK_TEXTS), 0
        size = rng.randint(1, 3)
        out.append(text[pos : pos + size])
        pos += size
    return out[:count]
