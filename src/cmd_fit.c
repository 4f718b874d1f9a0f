#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define MAX_VALID 64

static void
fit_help(FILE *fp)
{
    char name[64];

    cli_usage(fp, "fit");
    fputs("\noptions:\n"
          "  --valid=file       a validation set, reported each round "
          "(repeatable)\n"
          "  -o file, --output=file\n"
          "                     where to save the model (default "
          "gbrank.model)\n"
          "  -h, --help         this text\n"
          "\nparameters (--name=value):\n",
          fp);
    for (size_t i = 0; i < gbr_params_count(); i++) {
        const gbr_param_info *info = gbr_params_info(i);
        size_t j = 0;

        for (; info->name[j] && j + 1 < sizeof name; j++)
            name[j] = info->name[j] == '_' ? '-' : info->name[j];
        name[j] = '\0';
        fprintf(fp, "  --%s=%s\n      %s; %s, default %s\n", name,
                info->type, info->help, info->range,
                info->def[0] ? info->def : "(empty)");
    }
}

static void
log_stderr(int level, const char *msg, void *ud)
{
    (void)level;
    (void)ud;
    fprintf(stderr, "%s\n", msg);
}

int
cmd_fit(int argc, char **argv)
{
    gbr_params p;
    gbr_error err;
    const char *valid_path[MAX_VALID], *valid_name[MAX_VALID];
    const char *out_path = "gbrank.model", *train_path = NULL;
    size_t n_valid = 0;
    gbr_dataset *train = NULL, *valid[MAX_VALID] = { NULL };
    gbr_booster *b = NULL;
    int status = CLI_FAIL;

    gbr_params_init(&p);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fit_help(stdout);
            return CLI_OK;
        }
        if (strcmp(a, "-o") == 0) {
            if (++i >= argc)
                return cli_error(CLI_USAGE, "-o needs a file name");
            out_path = argv[i];
        } else if (cli_opt(a, "output", &v)) {
            out_path = v;
        } else if (cli_opt(a, "valid", &v)) {
            if (n_valid == MAX_VALID)
                return cli_error(CLI_USAGE, "at most %d --valid files",
                                 MAX_VALID);
            valid_path[n_valid++] = v;
        } else if (strncmp(a, "--", 2) == 0) {
            const char *eq = strchr(a, '=');
            char name[64];

            if (!eq || eq - a - 2 >= (long)sizeof name || eq == a + 2)
                return cli_error(CLI_USAGE, "options take the form "
                                 "--name=value, got \"%.40s\"", a);
            memcpy(name, a + 2, (size_t)(eq - a - 2));
            name[eq - a - 2] = '\0';
            if (gbr_params_set(&p, name, eq + 1, &err) != GBR_OK) {
                cli_error(CLI_USAGE, "%s", err.msg);
                fputs("see 'gbrank fit --help'\n", stderr);
                return CLI_USAGE;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            return cli_error(CLI_USAGE, "unknown option \"%.40s\"", a);
        } else if (!train_path) {
            train_path = a;
        } else {
            return cli_error(CLI_USAGE, "more than one training file: "
                             "\"%.40s\"", a);
        }
    }
    if (!train_path) {
        cli_error(CLI_USAGE, "a training file is required");
        cli_usage(stderr, "fit");
        return CLI_USAGE;
    }
    if (gbr_params_check(&p, &err) != GBR_OK)
        return cli_error(CLI_USAGE, "%s", err.msg);
    if (p.early_stop > 0 && n_valid == 0)
        return cli_error(CLI_USAGE, "early-stop needs a --valid file");
    p.log_fn = log_stderr;
    /* Find out now, not after training, that the model cannot be saved. */
    if (cli_check_writable(out_path) != CLI_OK)
        return CLI_FAIL;
    for (size_t i = 0; i < n_valid; i++) {
        const char *slash = strrchr(valid_path[i], '/');

        valid_name[i] = slash ? slash + 1 : valid_path[i];
    }
    if (cli_load(train_path, &train) != CLI_OK)
        goto done;
    for (size_t i = 0; i < n_valid; i++)
        if (cli_load(valid_path[i], &valid[i]) != CLI_OK)
            goto done;
    if (gbr_booster_create(&p, &b, &err) != GBR_OK ||
        gbr_booster_fit(b, train, (const gbr_dataset *const *)valid,
                        valid_name, n_valid, &err) != GBR_OK ||
        gbr_booster_save(b, out_path, &err) != GBR_OK) {
        cli_error(CLI_FAIL, "%s", err.msg);
        goto done;
    }
    status = CLI_OK;
done:
    gbr_booster_free(b);
    gbr_dataset_free(train);
    for (size_t i = 0; i < n_valid; i++)
        gbr_dataset_free(valid[i]);
    return status;
}
