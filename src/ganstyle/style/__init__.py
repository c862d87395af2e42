"""Neural style transfer: Gatys optimisation, fast feed-forward networks and AdaIN.

``methods`` (one module per method and the ``METHODS`` registry), ``backbones`` (VGG-19 with
real weights, or seeded random filters needing no download), ``losses`` (Gram, content,
style, TV, AdaIN), ``inputs`` (content/style images and sizes), ``model`` (trained model
directories), ``train`` (``ganstyle.train_style``), ``api`` (``ganstyle.stylize``),
``evaluate`` (``ganstyle.style_eval``), ``tiling``, ``export`` and ``demo``.
"""
