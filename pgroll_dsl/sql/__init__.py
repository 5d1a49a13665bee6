"""SQL text: quoting (the one chokepoint) and checks of author-written expressions."""
