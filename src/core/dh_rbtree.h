/*
 * Red-black tree with a caller-supplied insert function (timers insert by
 * key with wrap-around comparison; others by key then by string).
 */

#ifndef DH_RBTREE_H
#define DH_RBTREE_H

#include "dh_core.h"

typedef dh_uint_t  dh_rbtree_key_t;
typedef dh_int_t   dh_rbtree_key_int_t;

typedef struct dh_rbtree_node_s  dh_rbtree_node_t;

struct dh_rbtree_node_s {
    dh_rbtree_key_t      key;
    dh_rbtree_node_t    *left;
    dh_rbtree_node_t    *right;
    dh_rbtree_node_t    *parent;
    u_char               color;
    u_char               data;
};

typedef struct dh_rbtree_s  dh_rbtree_t;

typedef void (*dh_rbtree_insert_pt) (dh_rbtree_node_t *root,
    dh_rbtree_node_t *node, dh_rbtree_node_t *sentinel);

struct dh_rbtree_s {
    dh_rbtree_node_t     *root;
    dh_rbtree_node_t     *sentinel;
    dh_rbtree_insert_pt   insert;
};

#define dh_rbtree_init(tree, s, i)                                            \
    dh_rbtree_sentinel_init(s);                                               \
    (tree)->root = s;                                                         \
    (tree)->sentinel = s;                                                     \
    (tree)->insert = i

#define dh_rbtree_data(node, type, link)                                      \
    (type *) ((u_char *) (node) - offsetof(type, link))

void dh_rbtree_insert(dh_rbtree_t *tree, dh_rbtree_node_t *node);
/* Unlinks node and sets its links to NULL (and key to 0). */
void dh_rbtree_delete(dh_rbtree_t *tree, dh_rbtree_node_t *node);
void dh_rbtree_insert_value(dh_rbtree_node_t *root, dh_rbtree_node_t *node,
    dh_rbtree_node_t *sentinel);
void dh_rbtree_insert_timer_value(dh_rbtree_node_t *root,
    dh_rbtree_node_t *node, dh_rbtree_node_t *sentinel);
/* In-order successor, NULL after the last node. */
dh_rbtree_node_t *dh_rbtree_next(dh_rbtree_t *tree, dh_rbtree_node_t *node);

#define dh_rbt_red(node)            ((node)->color = 1)
#define dh_rbt_black(node)          ((node)->color = 0)
#define dh_rbt_is_red(node)         ((node)->color)
#define dh_rbt_is_black(node)       (!dh_rbt_is_red(node))
#define dh_rbt_copy_color(n1, n2)   (n1->color = n2->color)
#define dh_rbtree_sentinel_init(node)  dh_rbt_black(node)

static inline dh_rbtree_node_t *
dh_rbtree_min(dh_rbtree_node_t *node, dh_rbtree_node_t *sentinel)
{
    while (node->left != sentinel) {
        node = node->left;
    }

    return node;
}

#endif /* DH_RBTREE_H */
