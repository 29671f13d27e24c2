"""Locale negotiation and bilingual text (zh-CN first, English by Accept-Language)."""

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal

Locale = Literal["zh-CN", "en"]
SUPPORTED: tuple[Locale, ...] = ("zh-CN", "en")

# The locale of the request being served; set by the request-context middleware and
# refined by authentication (a tenant's default locale when the client sent none).
current_locale: ContextVar[Locale] = ContextVar("current_locale", default="zh-CN")
locale_was_negotiated: ContextVar[bool] = ContextVar("locale_was_negotiated", default=False)


@dataclass(frozen=True, slots=True)
class Text:
    """A human-facing string in both languages."""

    zh: str
    en: str

    def get(self, locale: Locale | None = None) -> str:
        """The string in `locale` (default: the current request's locale)."""
        return self.en if (locale or current_locale.get()) == "en" else self.zh

    def format(self, **values: object) -> "Text":
        """Both languages with the same placeholders filled in."""
        return Text(self.zh.format(**values), self.en.format(**values))


def negotiate(accept_language: str | None) -> Locale | None:
    """The best supported locale for an Accept-Language header, or None when it names none.

    Honours q-values; any `zh*` tag means zh-CN and any `en*` tag means en.
    """
    if not accept_language:
        return None
    ranked: list[tuple[float, int, Locale]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        if tag.startswith("zh"):
            ranked.append((quality, -position, "zh-CN"))
        elif tag.startswith("en"):
            ranked.append((quality, -position, "en"))
    if not ranked:
        return None
    return max(ranked)[2]


def normalise_locale(value: str | None) -> Locale:
    """A stored locale setting as a supported locale."""
    return "en" if value and value.lower().startswith("en") else "zh-CN"
