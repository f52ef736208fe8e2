"""Unconditional GAN family: the vanilla MLP GAN (Goodfellow et al.) and DCGAN (Radford et al.).

They differ only in their networks (``conf/model/vanilla.yaml``, ``conf/model/dcgan.yaml``); the training
algorithm is the engine's: k discriminator updates, then one generator update.
"""

from ganforge.families.base import AdversarialModule


class GAN(AdversarialModule):
    """Labels in the batch are ignored: G(z) and D(x) only."""
