/*
 * Red-black tree: random inserts and deletes keep order and the red-black
 * invariants; 10k nodes; timer keys that wrap around.
 */

#include "dh_config.h"
#include "dh_core.h"

#include "t/unit/dh_tap.h"

#define N  10000


static dh_rbtree_node_t  nodes[N];
static dh_uint_t         in_tree[N];


/* black height of the subtree, or -1 when an invariant is broken */
static int
check(dh_rbtree_node_t *node, dh_rbtree_node_t *sentinel,
    dh_rbtree_node_t *parent)
{
    int  lh, rh;

    if (node == sentinel) {
        return dh_rbt_is_black(node) ? 1 : -1;
    }

    if (node->parent != parent) {
        return -1;
    }

    if (dh_rbt_is_red(node)
        && (dh_rbt_is_red(node->left) || dh_rbt_is_red(node->right)))
    {
        return -1;
    }

    if (node->left != sentinel && node->left->key > node->key) {
        return -1;
    }

    if (node->right != sentinel && node->right->key < node->key) {
        return -1;
    }

    lh = check(node->left, sentinel, node);
    rh = check(node->right, sentinel, node);

    if (lh < 0 || rh < 0 || lh != rh) {
        return -1;
    }

    return lh + dh_rbt_is_black(node);
}


static int
valid(dh_rbtree_t *tree)
{
    if (tree->root != tree->sentinel && dh_rbt_is_red(tree->root)) {
        return 0;
    }

    return check(tree->root, tree->sentinel, NULL) > 0;
}


/* in-order walk with dh_rbtree_next(): count, and whether sorted */
static dh_uint_t
walk(dh_rbtree_t *tree, dh_uint_t *sorted)
{
    dh_uint_t          n;
    dh_rbtree_key_t    prev;
    dh_rbtree_node_t  *node;

    *sorted = 1;

    if (tree->root == tree->sentinel) {
        return 0;
    }

    n = 0;
    prev = 0;

    for (node = dh_rbtree_min(tree->root, tree->sentinel);
         node != NULL;
         node = dh_rbtree_next(tree, node))
    {
        if (n && node->key < prev) {
            *sorted = 0;
        }

        prev = node->key;
        n++;
    }

    return n;
}


static void
test_random(void)
{
    dh_uint_t          i, j, count, sorted, all_valid, expect;
    dh_rbtree_t        tree;
    dh_rbtree_node_t   sentinel;

    dh_rbtree_init(&tree, &sentinel, dh_rbtree_insert_value);

    srandom(12345);

    for (i = 0; i < N; i++) {
        nodes[i].key = (dh_rbtree_key_t) (random() % 5000);  /* duplicates */
        dh_rbtree_insert(&tree, &nodes[i]);
        in_tree[i] = 1;
    }

    ok(valid(&tree), "valid after %d inserts", N);
    count = walk(&tree, &sorted);
    is_int(count, N, "in-order walk visits all nodes");
    ok(sorted, "in key order");

    all_valid = 1;
    expect = N;

    for (j = 0; j < 4 * N; j++) {
        i = (dh_uint_t) random() % N;

        if (in_tree[i]) {
            dh_rbtree_delete(&tree, &nodes[i]);
            in_tree[i] = 0;
            expect--;

        } else {
            nodes[i].key = (dh_rbtree_key_t) (random() % 5000);
            dh_rbtree_insert(&tree, &nodes[i]);
            in_tree[i] = 1;
            expect++;
        }

        if (j % 997 == 0 && !valid(&tree)) {
            all_valid = 0;
        }
    }

    ok(all_valid, "valid at checkpoints during %d mixed operations", 4 * N);
    ok(valid(&tree), "valid after them");
    count = walk(&tree, &sorted);
    is_int(count, expect, "walk count matches the live nodes");
    ok(sorted, "still in order");

    /* delete everything in random order; the minimum is always first */
    all_valid = 1;

    for (i = 0; i < N; i++) {
        if (!in_tree[i]) {
            continue;
        }

        dh_rbtree_delete(&tree, &nodes[i]);
        in_tree[i] = 0;

        if (i % 101 == 0 && !valid(&tree)) {
            all_valid = 0;
        }
    }

    ok(all_valid, "valid while emptying");
    ok(tree.root == &sentinel, "empty tree has the sentinel as root");
    ok(nodes[0].parent == NULL && nodes[0].left == NULL,
       "deleted nodes are unlinked");
}


static void
test_sequential(void)
{
    dh_uint_t          i, sorted, all_valid;
    dh_rbtree_t        tree;
    dh_rbtree_node_t   sentinel, *min;

    dh_rbtree_init(&tree, &sentinel, dh_rbtree_insert_value);

    all_valid = 1;
    for (i = 0; i < N; i++) {
        nodes[i].key = i;
        dh_rbtree_insert(&tree, &nodes[i]);
        if (i % 500 == 0 && !valid(&tree)) {
            all_valid = 0;
        }
    }

    ok(all_valid && valid(&tree), "ascending inserts keep it valid");
    is_int(walk(&tree, &sorted), N, "count %d", N);

    /* pop the minimum, as the timer code does */
    all_valid = 1;
    for (i = 0; i < N; i++) {
        min = dh_rbtree_min(tree.root, tree.sentinel);
        if (min->key != i) {
            all_valid = 0;
            break;
        }
        dh_rbtree_delete(&tree, min);
    }

    ok(all_valid, "popping the minimum yields 0..%d in order", N - 1);
    ok(tree.root == &sentinel, "then empty");
}


static void
test_timer_wrap(void)
{
    dh_uint_t          i;
    dh_rbtree_t        tree;
    dh_rbtree_node_t   sentinel, t[6], *min, *next;
    dh_rbtree_key_t    base;
    static const char *expect = "abcdef";
    char               got[8];

    dh_rbtree_init(&tree, &sentinel, dh_rbtree_insert_timer_value);

    /* keys around the wrap point: MAX-2 .. MAX, then 0, 1, 2 */
    base = (dh_rbtree_key_t) -3;

    t[3].key = base + 3;     /* 0 */
    t[0].key = base;         /* MAX - 2 */
    t[5].key = base + 5;     /* 2 */
    t[1].key = base + 1;
    t[4].key = base + 4;
    t[2].key = base + 2;     /* MAX */

    for (i = 0; i < 6; i++) {
        dh_rbtree_insert(&tree, &t[i]);
    }

    min = dh_rbtree_min(tree.root, tree.sentinel);
    ok(min == &t[0], "the earliest timer is MAX - 2, not 0");

    for (i = 0, next = min; next; next = dh_rbtree_next(&tree, next), i++) {
        got[i] = (char) ('a' + (next - t));
    }
    got[i] = '\0';

    is_str(got, expect, "timer order crosses the wrap point");

    dh_rbtree_delete(&tree, &t[0]);
    min = dh_rbtree_min(tree.root, tree.sentinel);
    ok(min == &t[1], "after deleting it the next is MAX - 1");
}


int
main(void)
{
    test_random();
    test_sequential();
    test_timer_wrap();

    return done_testing();
}
