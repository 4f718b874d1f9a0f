#ifndef GBRANK_CLI_H
#define GBRANK_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "gbrank/gbrank.h"

/* Exit statuses of the gbrank program. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* One subcommand: its name, its synopsis (as usage() and the manual show
 * it) and what runs it. */
struct cli_cmd {
    const char *name;
    const char *synopsis;
    int (*run)(int argc, char **argv);
};

int cmd_fit(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_rec(int argc, char **argv);
int cmd_features(int argc, char **argv);

/* The most metrics one rec eval prints. */
#define GBR_REC_EVAL_MAX 32

/* Print a "name<TAB>value" line to standard output for each of the first n
 * entries of the comma list metrics, and flush it. CLI_OK or CLI_FAIL
 * (message printed). */
int cli_print_metrics(const char *metrics, const double *values, size_t n);

/* rec eval --ranker=RANKER --features=OUT TEST: print the metrics of the
 * candidates of OUT ranked by RANKER (a gbrank model or a rec blend
 * file), against test, and each user's into the file per_user when it is
 * not NULL. */
int cli_rec_eval_ranker(const char *ranker, const char *features,
                        const gbr_interactions *test, const char *metrics,
                        const char *per_user, int n_threads);
/* rec blend (argv[0] is "blend"). */
int cli_rec_blend(int argc, char **argv);

/* Print "gbrank: <msg>" on stderr; returns status. */
int cli_error(int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Print the synopsis of command name (all commands when NULL) to fp. */
void cli_usage(FILE *fp, const char *name);

/* If arg is "--key=value" (or "--key" when value_out is NULL), match key
 * and return 1, setting *value_out. */
int cli_opt(const char *arg, const char *key, const char **value_out);

/* Read a libsvm file into a dataset, parsing on n_threads threads (0: all
 * cores); with p, its labels must have a gain under p's label_gain (an
 * error names the file and line). CLI_OK or CLI_FAIL (message printed). */
int cli_load(const char *path, const gbr_params *p, int n_threads,
             gbr_dataset **out);

/* Read a libsvm file as rows (gbr_libsvm_read), and free them. CLI_OK or
 * CLI_FAIL (message printed). */
int cli_read_csr(const char *path, gbr_csr *out);
void cli_free_csr(gbr_csr *csr);

/* Open path for writing through a temporary file in the same directory;
 * cli_commit renames it into place, cli_abort removes it. "-" or NULL is
 * stdout. */
struct cli_out {
    FILE *fp;
    char *path;
    char *tmp;
};
int cli_out_open(struct cli_out *o, const char *path);
int cli_out_commit(struct cli_out *o);
void cli_out_abort(struct cli_out *o);

/* Whether a file can be created next to path: CLI_OK, or CLI_FAIL with the
 * reason printed. */
int cli_check_writable(const char *path);

/* Split "--name=value" into name (room for size bytes) and *value: the
 * parameters of fit and rec fit. CLI_OK, or CLI_USAGE with a message. */
int cli_name_value(const char *arg, char *name, size_t size,
                   const char **value);

/* List the rows of a parameter table for --help: "--name=type", then its
 * help, range and default. info(i) gives row i of count. */
void cli_print_params(FILE *fp, size_t count,
                      const gbr_param_info *(*info)(size_t));

/* Read a --min-rating value: a number, or "none" for every line. */
int cli_min_rating(const char *v, double *out);

/* Read an interaction log. CLI_OK or CLI_FAIL (message printed). */
int cli_read_log(const char *path, double min_rating, gbr_interactions **out);

/* Parse a thread count for predict and eval. */
int cli_threads(const char *v, int *out);

/* What a predict or eval command line says. */
struct cli_model_args {
    const char *model, *data, *output, *metrics;
    int margin, ranked, n_threads;
    int help;                   /* --help was given and answered */
};

/* Parse the options of predict (eval when is_eval): --model and a data
 * file are required. Returns CLI_OK, or the status to exit with. */
int cli_model_args_parse(int argc, char **argv, int is_eval,
                         struct cli_model_args *m);

/* Load the model and the data named by a predict or eval command line and
 * compute predictions; with scored, the data's labels must have gains
 * under the model's label_gain (eval scores them; predict ignores them).
 * CLI_OK or CLI_FAIL (message printed); the caller frees *b, *ds and
 * *pred either way. */
int cli_predict_all(const char *model_path, const char *data_path,
                    int margin, int n_threads, int scored, gbr_booster **b,
                    gbr_dataset **ds, double **pred);

#endif
