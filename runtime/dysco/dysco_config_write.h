// DySCO settings written back in the reference's YAML format (the shipped configs/dysco/*.yaml),
// so that what dysco detect-heads writes loads through dy_dysco_config_load unchanged.
#ifndef DYSCO_DYSCO_CONFIG_WRITE_H
#define DYSCO_DYSCO_CONFIG_WRITE_H

#include "dysco_config.h"

// The YAML text (malloc'd; NULL when out of memory), comment lines first ('#' added to each line of
// comment; NULL: none). Fields left unset (no top_k, strength NAN) are left out.
char *dy_dysco_config_format(const dy_dysco_config *c, const char *comment);

#endif
