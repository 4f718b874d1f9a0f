#include "data/dataset_impl.h"

#include <math.h>
#include <string.h>

#include "common/util.h"

/* Check that csr describes well-formed rows: offsets that start at 0 and
 * never decrease, indices strictly increasing and below n_features, finite
 * labels, finite non-negative weights and group offsets from 0 to n_rows. */
static int
csr_check(const gbr_csr *csr, gbr_error *err)
{
    if (!csr || csr->n_rows == 0)
        return gbr_fail(err, GBR_EPARAM, "dataset has no rows");
    if (!csr->row_ptr || !csr->label ||
        (csr->row_ptr[csr->n_rows] > 0 && (!csr->index || !csr->value)))
        return gbr_fail(err, GBR_EPARAM, "dataset arrays are missing");
    if (csr->n_features > UINT32_MAX)
        return gbr_fail(err, GBR_EPARAM, "dataset has %zu features, more "
                        "than %u", csr->n_features, (unsigned)UINT32_MAX);
    if (csr->row_ptr[0] != 0)
        return gbr_fail(err, GBR_EPARAM, "row_ptr[0] must be 0");
    for (size_t r = 0; r < csr->n_rows; r++) {
        size_t b = csr->row_ptr[r], e = csr->row_ptr[r + 1];

        if (e < b)
            return gbr_fail(err, GBR_EPARAM, "row %zu: row_ptr decreases",
                            r + 1);
        for (size_t j = b; j < e; j++) {
            if (csr->index[j] >= csr->n_features)
                return gbr_fail(err, GBR_EPARAM, "row %zu: index %u is not "
                                "below n_features %zu", r + 1,
                                (unsigned)csr->index[j], csr->n_features);
            if (j > b && csr->index[j] <= csr->index[j - 1])
                return gbr_fail(err, GBR_EPARAM, "row %zu: index %u does not "
                                "increase", r + 1, (unsigned)csr->index[j]);
            if (isinf(csr->value[j]))
                return gbr_fail(err, GBR_EPARAM, "row %zu: feature %u is "
                                "infinite (absent values are left out or "
                                "written as nan)", r + 1,
                                (unsigned)csr->index[j]);
        }
        if (!isfinite(csr->label[r]))
            return gbr_fail(err, GBR_EPARAM, "row %zu: label is not finite",
                            r + 1);
        if (csr->weight &&
            (!isfinite(csr->weight[r]) || csr->weight[r] < 0))
            return gbr_fail(err, GBR_EPARAM, "row %zu: weight must be finite "
                            "and >= 0", r + 1);
    }
    if (csr->group_ptr) {
        if (csr->group_ptr[0] != 0 ||
            csr->group_ptr[csr->n_groups] != csr->n_rows)
            return gbr_fail(err, GBR_EPARAM, "group sizes add up to %zu, "
                            "not to the %zu rows",
                            csr->group_ptr[csr->n_groups], csr->n_rows);
        for (size_t q = 0; q < csr->n_groups; q++)
            if (csr->group_ptr[q + 1] < csr->group_ptr[q])
                return gbr_fail(err, GBR_EPARAM, "group_ptr decreases at "
                                "group %zu", q);
    }
    return GBR_OK;
}

static int
copy_array(void **dst, const void *src, size_t n, size_t size, gbr_error *err)
{
    *dst = gbr_reallocarray(NULL, n, size);
    if (!*dst)
        return gbr_fail(err, GBR_ENOMEM, "out of memory copying %zu values",
                        n);
    if (n)
        memcpy(*dst, src, n * size);
    return GBR_OK;
}

/* Whether csr's values take less room dense than CSR: at least half of
 * the n_rows x n_features cells present (4 bytes a cell against 8 an
 * entry), and the cells countable. */
static int
dense_fits(const gbr_csr *csr)
{
    const size_t nf = csr->n_features, nnz = csr->row_ptr[csr->n_rows];

    if (nf == 0 || csr->n_rows > SIZE_MAX / sizeof(float) / nf)
        return 0;
    return nnz >= csr->n_rows * nf - nnz;
}

/* 0 .. n_features - 1, the indices of every dense row. */
static int
iota_make(gbr_dataset *ds, gbr_error *err)
{
    ds->iota = gbr_reallocarray(NULL, ds->n_features, sizeof(uint32_t));
    if (!ds->iota)
        return gbr_fail(err, GBR_ENOMEM, "out of memory");
    for (size_t f = 0; f < ds->n_features; f++)
        ds->iota[f] = (uint32_t)f;
    return GBR_OK;
}

/* The rows of csr as a dense matrix, NaN where a value is absent. */
static int
dense_copy(gbr_dataset *ds, const gbr_csr *csr, gbr_error *err)
{
    const size_t nf = csr->n_features;

    ds->dense = gbr_reallocarray(NULL, csr->n_rows * nf, sizeof(float));
    if (!ds->dense)
        return gbr_fail(err, GBR_ENOMEM, "out of memory for %zu x %zu "
                        "values", csr->n_rows, nf);
    for (size_t r = 0; r < csr->n_rows; r++) {
        float *row = ds->dense + r * nf;

        for (size_t f = 0; f < nf; f++)
            row[f] = NAN;
        for (size_t j = csr->row_ptr[r]; j < csr->row_ptr[r + 1]; j++)
            row[csr->index[j]] = csr->value[j];
    }
    return iota_make(ds, err);
}

static int
dataset_copy(gbr_dataset *ds, const gbr_csr *csr, enum gbr_layout layout,
             gbr_error *err)
{
    size_t nnz = csr->row_ptr[csr->n_rows];
    int rc;

    ds->n_rows = csr->n_rows;
    ds->n_features = csr->n_features;
    if (layout == GBR_LAYOUT_AUTO)
        layout = dense_fits(csr) ? GBR_LAYOUT_DENSE : GBR_LAYOUT_CSR;
    if (layout == GBR_LAYOUT_DENSE) {
        if ((rc = dense_copy(ds, csr, err)) != GBR_OK)
            return rc;
    } else if ((rc = copy_array((void **)&ds->row_ptr, csr->row_ptr,
                                csr->n_rows + 1, sizeof(size_t), err)) !=
                   GBR_OK ||
               (rc = copy_array((void **)&ds->index, csr->index, nnz,
                                sizeof(uint32_t), err)) != GBR_OK ||
               (rc = copy_array((void **)&ds->value, csr->value, nnz,
                                sizeof(float), err)) != GBR_OK) {
        return rc;
    }
    if ((rc = copy_array((void **)&ds->label, csr->label, csr->n_rows,
                         sizeof(float), err)) != GBR_OK)
        return rc;
    if (csr->weight &&
        (rc = copy_array((void **)&ds->weight, csr->weight, csr->n_rows,
                         sizeof(float), err)) != GBR_OK)
        return rc;
    if (csr->position &&
        (rc = copy_array((void **)&ds->position, csr->position, csr->n_rows,
                         sizeof(uint32_t), err)) != GBR_OK)
        return rc;
    if (csr->group_ptr) {
        size_t n = 0;

        ds->group_ptr = gbr_reallocarray(NULL, csr->n_groups + 1,
                                         sizeof(size_t));
        if (!ds->group_ptr)
            return gbr_fail(err, GBR_ENOMEM, "out of memory copying groups");
        if (csr->group_id) {
            ds->group_id = gbr_reallocarray(NULL, csr->n_groups + 1,
                                            sizeof(uint64_t));
            if (!ds->group_id)
                return gbr_fail(err, GBR_ENOMEM, "out of memory copying "
                                "groups");
        }
        ds->group_ptr[0] = 0;
        for (size_t q = 0; q < csr->n_groups; q++) {
            if (csr->group_ptr[q + 1] > csr->group_ptr[q]) {
                if (ds->group_id)
                    ds->group_id[n] = csr->group_id[q];
                ds->group_ptr[++n] = csr->group_ptr[q + 1];
            }
        }
        ds->n_groups = n;
    }
    return GBR_OK;
}

int
gbr_dataset_create(const gbr_csr *csr, gbr_dataset **out, gbr_error *err)
{
    return gbr_dataset_make(csr, GBR_LAYOUT_AUTO, out, err);
}

int
gbr_dataset_make(const gbr_csr *csr, enum gbr_layout layout,
                 gbr_dataset **out, gbr_error *err)
{
    gbr_dataset *ds = NULL;
    int rc;

    *out = NULL;
    if ((rc = csr_check(csr, err)) != GBR_OK)
        goto done;
    ds = gbr_calloc(1, sizeof *ds);
    if (!ds) {
        rc = gbr_fail(err, GBR_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = dataset_copy(ds, csr, layout, err)) != GBR_OK)
        goto done;
    *out = ds;
    ds = NULL;
done:
    gbr_dataset_free(ds);
    return rc;
}

/* Drop empty groups in place, keeping their ids in step. */
static void
compact_groups(gbr_dataset *ds)
{
    size_t n = 0;

    for (size_t q = 0; q < ds->n_groups; q++) {
        if (ds->group_ptr[q + 1] > ds->group_ptr[q]) {
            if (ds->group_id)
                ds->group_id[n] = ds->group_id[q];
            ds->group_ptr[++n] = ds->group_ptr[q + 1];
        }
    }
    ds->n_groups = n;
}

/* Turn the CSR rows into dense ones within the value array, so that the
 * peak is the CSR arrays and the growth of one, not CSR and dense side by
 * side. The array is grown to n_rows x nf floats by realloc (which, for
 * big blocks, moves pages rather than bytes), then filled from the last
 * row to the first and each row from its last cell. Row r's entries sit
 * at [row_ptr[r], row_ptr[r + 1]) and go to [r * nf, (r + 1) * nf); as
 * row_ptr[r] <= r * nf and the indices increase, an entry at p with index
 * i has p <= r * nf + i, so each cell written lies after every entry
 * still to be read, or is the one being read. Returns the dense rows, or
 * NULL (value then unchanged) when memory runs out. */
static float *
csr_expand(float *value, const size_t *row_ptr, const uint32_t *index,
           size_t n_rows, size_t nf)
{
    float *d = gbr_reallocarray(value, n_rows * nf, sizeof(float));

    if (!d)
        return NULL;
    for (size_t r = n_rows; r-- > 0;) {
        const size_t b = row_ptr[r];
        size_t j = row_ptr[r + 1];
        float *row = d + r * nf;

        for (size_t f = nf; f-- > 0;)
            row[f] = j > b && index[j - 1] == f ? d[--j] : NAN;
    }
    return d;
}

int
gbr_dataset_adopt(gbr_csr *csr, gbr_dataset **out, gbr_error *err)
{
    gbr_dataset *ds;
    int rc;

    *out = NULL;
    if ((rc = csr_check(csr, err)) != GBR_OK)
        return rc;
    ds = gbr_calloc(1, sizeof *ds);
    if (!ds)
        return gbr_fail(err, GBR_ENOMEM, "out of memory");
    ds->n_rows = csr->n_rows;
    ds->n_features = csr->n_features;
    ds->row_ptr = csr->row_ptr;
    ds->index = csr->index;
    ds->value = csr->value;
    /* Dense when it is smaller; CSR stays when memory runs short. */
    if (dense_fits(csr) && iota_make(ds, NULL) == GBR_OK &&
        (ds->dense = csr_expand(csr->value, csr->row_ptr, csr->index,
                                csr->n_rows, csr->n_features)) != NULL) {
        gbr_free(ds->row_ptr);
        gbr_free(ds->index);
        ds->row_ptr = NULL;
        ds->index = NULL;
        ds->value = NULL;
    } else {
        gbr_free(ds->iota);
        ds->iota = NULL;
    }
    ds->label = csr->label;
    ds->weight = csr->weight;
    ds->position = csr->position;
    ds->n_groups = csr->group_ptr ? csr->n_groups : 0;
    ds->group_ptr = csr->group_ptr;
    ds->group_id = csr->group_ptr ? csr->group_id : NULL;
    if (!csr->group_ptr)
        gbr_free(csr->group_id);
    if (ds->group_ptr)
        compact_groups(ds);
    memset(csr, 0, sizeof *csr);
    *out = ds;
    return GBR_OK;
}

void
gbr_dataset_free(gbr_dataset *ds)
{
    if (!ds)
        return;
    gbr_free(ds->row_ptr);
    gbr_free(ds->index);
    gbr_free(ds->value);
    gbr_free(ds->dense);
    gbr_free(ds->iota);
    gbr_free(ds->label);
    gbr_free(ds->weight);
    gbr_free(ds->group_ptr);
    gbr_free(ds->group_id);
    gbr_free(ds->position);
    gbr_free(ds);
}

size_t
gbr_dataset_n_rows(const gbr_dataset *ds)
{
    return ds->n_rows;
}

size_t
gbr_dataset_n_features(const gbr_dataset *ds)
{
    return ds->n_features;
}

size_t
gbr_dataset_n_groups(const gbr_dataset *ds)
{
    return ds->n_groups;
}

const float *
gbr_dataset_label(const gbr_dataset *ds)
{
    return ds->label;
}

const float *
gbr_dataset_weight(const gbr_dataset *ds)
{
    return ds->weight;
}

const size_t *
gbr_dataset_group_ptr(const gbr_dataset *ds)
{
    return ds->group_ptr;
}

const uint32_t *
gbr_dataset_position(const gbr_dataset *ds)
{
    return ds->position;
}

const uint64_t *
gbr_dataset_group_id(const gbr_dataset *ds)
{
    return ds->group_id;
}

gbr_rows
gbr_dataset_rows(const gbr_dataset *ds)
{
    gbr_rows rs = { ds->n_rows, (uint32_t)ds->n_features, ds->row_ptr,
                    ds->index, ds->value, ds->dense, ds->iota };

    return rs;
}

/* The row's indices are sorted and mostly spread evenly over the
 * features (in dense data, index k sits near position k), so the search
 * guesses the place in proportion and walks a few steps from it; rows
 * where that does not land close fall back to a binary search of what
 * remains. */
float
gbr_dataset_csr_value(const gbr_dataset *ds, size_t r, uint32_t fid)
{
    const size_t b = ds->row_ptr[r], e = ds->row_ptr[r + 1];
    size_t lo = b, hi = e;

    if (b == e)
        return NAN;
    if (ds->n_features > 0) {
        size_t p = b + (size_t)((uint64_t)fid * (e - b) / ds->n_features);

        if (p >= e)
            p = e - 1;
        if (ds->index[p] < fid) {
            /* the answer is above p */
            lo = p + 1;
            for (int k = 0; k < 4 && lo < hi && ds->index[lo] < fid; k++)
                lo++;
            if (lo < hi && ds->index[lo] >= fid)
                hi = lo;
        } else {
            /* the answer is at p or below */
            hi = p;
            if (ds->index[p] == fid)
                return ds->value[p];
            for (int k = 0; k < 4 && hi > lo && ds->index[hi - 1] >= fid;
                 k++)
                hi--;
            if (hi > lo && ds->index[hi - 1] < fid)
                lo = hi;
        }
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (ds->index[mid] < fid)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < e && ds->index[lo] == fid)
        return ds->value[lo];
    return NAN;
}
