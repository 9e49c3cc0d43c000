"""realtime-vend: mints short-lived OpenAI Realtime client secrets for a browser, keeping the API key."""
