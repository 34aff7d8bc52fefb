"""Wright-Fisher populations (population genetics) as a System: drift and selection collapse a
population's allele diversity; mutation, migration, overdominance and negative frequency
dependence keep it. ``config`` (static/traced split), ``engine`` (the generation), ``remedies``
(the diversity-keeping forces by name), ``spec`` (what ``mcjax sweep --system wright-fisher``
runs)."""
