"""UIS (and CoMagic, CallGear, Novofon, which share its platform): the provider of the guide."""
