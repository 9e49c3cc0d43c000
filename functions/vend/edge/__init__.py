"""Our HTTP surface: parsing requests and shaping responses. Nothing here calls out."""
