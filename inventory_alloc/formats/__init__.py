"""One date format per language (FORMAT_MODULE_PATH): ISO 2026-12-02 in English, 2026/12/02 in Japanese.

Each language's DATE_INPUT_FORMATS starts with the format it shows, since the admin's calendar widget writes
the first one, and accepts ISO too (what the API, the imports and `<input type="date">` send). Anything a
module does not name falls back to Django's own format module for the language.
"""
