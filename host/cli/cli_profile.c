/* Printing a px_profile's per-stage table for the perfex commands. */
#include "cli.h"

#include "perfex/profile.h"

#include <stdlib.h>

void px_cli_profile_print(const px_profile *p, const char *title, FILE *f)
{
    char *text = NULL;
    if (px_profile_format(p, title, &text) == PX_SUCCESS) fputs(text, f);
    free(text);
}
