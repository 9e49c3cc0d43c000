"""Everything that speaks HTTP to OpenAI; the only package that imports httpx."""
