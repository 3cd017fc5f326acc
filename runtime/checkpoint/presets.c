#include "presets.h"

#include <string.h>

const dy_preset *dy_preset_find(const char *name) {
    for (int i = 0; i < dy_n_presets; i++)
        if (strcmp(dy_presets[i].name, name) == 0) return &dy_presets[i];
    return NULL;
}
