"""Classification runs (分类执行): chunked, durable, applied set-based, with results that
explain themselves."""
