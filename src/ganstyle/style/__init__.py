"""Neural style transfer: Gatys optimisation, fast feed-forward networks and AdaIN.

``backbones`` (VGG-19 with real weights, or seeded random filters needing no download),
``losses`` (Gram, content, style, TV, AdaIN), ``gatys`` (the optimisation), ``api``
(``ganstyle.stylize``), ``evaluate`` (``ganstyle.style_eval``) and ``demo``.
"""
