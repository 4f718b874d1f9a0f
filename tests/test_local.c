#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "data/dataset_impl.h"
#include "proposal/proposal.h"
#include "tree/grow.h"

#define N_ROWS 80
#define N_FEAT 3

/* A node's rows, values and gradients, as a brute force sees them. */
struct node_data {
    const float *x;             /* N_ROWS x N_FEAT, NaN absent */
    const gbr_gpair *gp;
    const uint32_t *rows;
    size_t n;
};

static double
score(double g, double h, const gbr_params *p)
{
    double t = g > p->alpha ? g - p->alpha : g < -p->alpha ? g + p->alpha : 0;

    return h + p->lambda > 0 ? t * t / (h + p->lambda) : 0;
}

static float
midpoint(float a, float b)
{
    float m = (float)((double)a + ((double)b - (double)a) / 2);

    return m > a ? m : b;
}

static int
float_cmp(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;

    return (x > y) - (x < y);
}

struct choice {
    double gain;
    uint32_t fid;
    float threshold;
    int default_left;
    size_t k;
};

/* Exact greedy by brute force: every feature, every threshold halfway
 * between two neighbouring distinct values of the node (and +inf, which
 * separates present from absent), absent rows on either side; the sums of
 * each side added up row by row. Best by gain, then feature, then
 * threshold, then absent rows right. */
static struct choice
exact_oracle(const struct node_data *nd, double sum_g, double sum_h,
             const gbr_params *p)
{
    struct choice best = { -INFINITY, 0, 0, 0, 0 };
    float u[N_ROWS];

    for (uint32_t f = 0; f < N_FEAT; f++) {
        size_t d = 0, n_missing = 0;

        for (size_t i = 0; i < nd->n; i++) {
            float v = nd->x[nd->rows[i] * N_FEAT + f];

            if (isnan(v))
                n_missing++;
            else
                u[d++] = v;
        }
        if (d == 0)
            continue;
        qsort(u, d, sizeof *u, float_cmp);
        size_t nd_u = 0;

        for (size_t i = 0; i < d; i++)
            if (i == 0 || u[i] != u[i - 1])
                u[nd_u++] = u[i];
        for (size_t k = 0; k < nd_u; k++) {
            float t = k + 1 < nd_u ? midpoint(u[k], u[k + 1]) : INFINITY;

            for (int dl = 0; dl <= (n_missing > 0); dl++) {
                double gl = 0, hl = 0;

                if (dl && k + 1 == nd_u)
                    continue;
                for (size_t i = 0; i < nd->n; i++) {
                    uint32_t r = nd->rows[i];
                    float v = nd->x[r * N_FEAT + f];

                    if (isnan(v) ? dl : v < t) {
                        gl += nd->gp[r].g;
                        hl += nd->gp[r].h;
                    }
                }
                double gr = sum_g - gl, hr = sum_h - hl;

                if (hl < p->min_child_weight || hr < p->min_child_weight)
                    continue;
                double gain = 0.5 * (score(gl, hl, p) + score(gr, hr, p) -
                                     score(sum_g, sum_h, p)) -
                              p->gamma;
                int dflt = n_missing ? dl : hl >= hr;

                if (gain > best.gain + 1e-12) {
                    struct choice c = { gain, f, t, dflt, k };

                    best = c;
                }
            }
        }
    }
    return best;
}

/* Random rows with ties and absent values, random gradients, a tree grown
 * with exact greedy to depth 4: every inner node's split is the brute
 * force's best over that node's rows (same feature, threshold and default
 * side; gain to 1e-12), at every depth, for 1 and 3 threads. */
static void
test_local_exact_matches_brute_force(void **state)
{
    tu_rng rng = { 77 };

    (void)state;
    for (int trial = 0; trial < 25; trial++) {
        float x[N_ROWS * N_FEAT], label[N_ROWS] = { 0 };
        gbr_gpair gp[N_ROWS];

        for (size_t i = 0; i < N_ROWS * N_FEAT; i++) {
            double u = tu_unit(&rng);

            x[i] = u < 0.15 ? NAN
                 : i % N_FEAT == 0 ? (float)tu_below(&rng, 6)
                                   : (float)tu_uniform(&rng, -3, 3);
        }
        for (size_t r = 0; r < N_ROWS; r++) {
            gp[r].g = (float)tu_uniform(&rng, -1, 1);
            gp[r].h = (float)tu_uniform(&rng, 0.1, 1);
        }
        gbr_dataset *ds = tu_dataset(N_ROWS, N_FEAT, x, label, NULL);
        gbr_params p;

        gbr_params_init(&p);
        p.proposal = GBR_PROPOSAL_EXACT;
        p.max_depth = 4;
        p.learning_rate = 1;
        p.lambda = trial % 2 ? 0.7 : 0;
        p.alpha = trial % 3 ? 0 : 0.05;
        p.min_child_weight = 0.3;
        for (int nt = 1; nt <= 3; nt += 2) {
            gbr_proposer pr;
            gbr_workspace ws;
            gbr_tree t = { 0 };
            const gbr_grow_data gd = { .ds = ds, .gp = gp };

            p.n_threads = nt;
            assert_int_equal(gbr_proposer_create(&pr, &p, ds, nt, NULL),
                             GBR_OK);
            assert_int_equal(gbr_workspace_init(&ws, &p, N_ROWS, N_FEAT,
                                                pr.hist_size, NULL), GBR_OK);
            for (uint32_t r = 0; r < N_ROWS; r++)
                ws.rows[r] = r;
            gbr_proposer_begin_tree(&pr, &gd);
            assert_int_equal(gbr_grow_tree(&ws, &pr, N_ROWS, &gd, &t, NULL),
                             GBR_OK);
            size_t n_inner = 0;

            for (size_t nid = 0; nid < t.n_nodes; nid++) {
                if (t.feature[nid] < 0)
                    continue;
                const gbr_node *bn = &ws.nodes[nid];
                struct node_data nd = { x, gp, ws.rows + bn->begin,
                                        bn->end - bn->begin };
                struct choice want = exact_oracle(&nd, bn->sum_g, bn->sum_h,
                                                  &p);

                n_inner++;
                assert_int_equal(t.feature[nid], want.fid);
                assert_true(t.threshold[nid] == want.threshold);
                assert_int_equal(t.default_left[nid], want.default_left);
                assert_near(bn->split.gain, want.gain, 1e-12);
            }
            assert_true(n_inner >= 3);
            gbr_tree_free(&t);
            gbr_workspace_free(&ws);
            gbr_proposer_free(&pr);
        }
        gbr_dataset_free(ds);
    }
}

/* The gain of one given split of a node, by brute force. */
static double
split_gain(const struct node_data *nd, uint32_t f, float t, int dl,
           double sum_g, double sum_h, const gbr_params *p)
{
    double gl = 0, hl = 0;

    for (size_t i = 0; i < nd->n; i++) {
        uint32_t r = nd->rows[i];
        float v = nd->x[r * N_FEAT + f];

        if (isnan(v) ? dl : v < t) {
            gl += nd->gp[r].g;
            hl += nd->gp[r].h;
        }
    }
    return 0.5 * (score(gl, hl, p) + score(sum_g - gl, sum_h - hl, p) -
                  score(sum_g, sum_h, p)) -
           p->gamma;
}

/* Grow one tree with the local proposal at sketch_eps eps (on fine bins
 * of every distinct value: 80 rows are far fewer than the grid's 4096)
 * and check every inner node against the brute force: its threshold
 * splits the node's rows as an exact-greedy candidate does (it lies above
 * one of the node's values and at or below the next, or is +inf), its
 * gain is that split's, and no better than exact greedy's best. Returns
 * how many inner nodes had exact greedy's best gain on its feature. */
static size_t
check_local_tree(const float *x, const gbr_gpair *gp, const gbr_dataset *ds,
                 double eps, size_t *n_inner)
{
    gbr_params p;
    gbr_proposer pr;
    gbr_workspace ws;
    gbr_tree t = { 0 };
    size_t n_same = 0;

    gbr_params_init(&p);
    p.proposal = GBR_PROPOSAL_LOCAL;
    p.sketch_eps = eps;
    p.max_depth = 4;
    p.lambda = 0.5;
    p.min_child_weight = 0.1;
    p.n_threads = 1;
    assert_int_equal(gbr_proposer_create(&pr, &p, ds, 1, NULL), GBR_OK);
    /* Every distinct value of the 80 rows has a fine bin of its own. */
    for (uint32_t f = 0; f < N_FEAT; f++) {
        size_t n_distinct = 0;

        for (size_t i = 0; i < N_ROWS; i++) {
            const float v = x[i * N_FEAT + f];
            int seen = isnan(v);

            for (size_t j = 0; j < i && !seen; j++)
                seen = x[j * N_FEAT + f] == v;
            n_distinct += !seen;
        }
        assert_int_equal(pr.cuts.cut_ptr[f + 1] - pr.cuts.cut_ptr[f],
                         n_distinct);
    }
    assert_int_equal(gbr_workspace_init(&ws, &p, N_ROWS, N_FEAT,
                                        pr.hist_size, NULL),
                     GBR_OK);
    for (uint32_t r = 0; r < N_ROWS; r++)
        ws.rows[r] = r;
    const gbr_grow_data gd = { .ds = ds, .gp = gp };

    gbr_proposer_begin_tree(&pr, &gd);
    assert_int_equal(gbr_grow_tree(&ws, &pr, N_ROWS, &gd, &t, NULL), GBR_OK);
    *n_inner = 0;
    for (size_t nid = 0; nid < t.n_nodes; nid++) {
        if (t.feature[nid] < 0)
            continue;
        const gbr_node *bn = &ws.nodes[nid];
        struct node_data nd = { x, gp, ws.rows + bn->begin,
                                bn->end - bn->begin };
        uint32_t f = (uint32_t)t.feature[nid];
        float thr = t.threshold[nid];
        struct choice best = exact_oracle(&nd, bn->sum_g, bn->sum_h, &p);
        int is_candidate = isinf(thr);

        for (size_t i = 0; i < nd.n && !is_candidate; i++) {
            float v = x[nd.rows[i] * N_FEAT + f], below = -INFINITY;

            for (size_t j = 0; j < nd.n; j++) {
                float y = x[nd.rows[j] * N_FEAT + f];

                if (y < v && y > below)
                    below = y;
            }
            if (!isinf(below) && below < thr && thr <= v)
                is_candidate = 1;
        }
        assert_true(is_candidate);
        const double gain = split_gain(&nd, f, thr, t.default_left[nid],
                                       bn->sum_g, bn->sum_h, &p);

        assert_near(bn->split.gain, gain, 1e-12);
        assert_true(bn->split.gain <= best.gain + 1e-12);
        n_same += f == best.fid && fabs(gain - best.gain) <= 1e-12;
        (*n_inner)++;
    }
    gbr_tree_free(&t);
    gbr_workspace_free(&ws);
    gbr_proposer_free(&pr);
    return n_same;
}

/* The local proposal picks among the node's own candidates, never beats
 * exact greedy, and with eps below 1/n (every value a candidate) is exact
 * greedy; at eps 0.3 it finds exact greedy's split less often. */
static void
test_local_proposal_against_exact(void **state)
{
    tu_rng rng = { 5 };
    size_t same_fine = 0, same_coarse = 0, inner_fine = 0, inner_coarse = 0;

    (void)state;
    for (int trial = 0; trial < 10; trial++) {
        float x[N_ROWS * N_FEAT], label[N_ROWS] = { 0 };
        gbr_gpair gp[N_ROWS];
        size_t n;

        for (size_t i = 0; i < N_ROWS * N_FEAT; i++)
            x[i] = tu_unit(&rng) < 0.1 ? NAN
                                        : (float)tu_uniform(&rng, 0, 100);
        for (size_t r = 0; r < N_ROWS; r++) {
            gp[r].g = (float)tu_uniform(&rng, -1, 1);
            gp[r].h = (float)(tu_unit(&rng) < 0.2 ? 5 : 0.2);
        }
        gbr_dataset *ds = tu_dataset(N_ROWS, N_FEAT, x, label, NULL);

        same_fine += check_local_tree(x, gp, ds, 0.5 / N_ROWS, &n);
        inner_fine += n;
        same_coarse += check_local_tree(x, gp, ds, 0.3, &n);
        inner_coarse += n;
        gbr_dataset_free(ds);
    }
    assert_int_equal(same_fine, inner_fine);
    assert_true(same_coarse < inner_coarse);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_exact_matches_brute_force),
        cmocka_unit_test(test_local_proposal_against_exact),
    };

    return cmocka_run_group_tests_name("local", tests, NULL, NULL);
}
