#include "dh_config.h"
#include "dh_core.h"

/*
 * A classic red-black tree (Cormen et al., chapter 13) with one shared
 * black sentinel standing in for every leaf.  The root's parent is NULL.
 * The sentinel's parent is scratch space used while deleting.
 */

static void dh_rbtree_left_rotate(dh_rbtree_node_t **root,
    dh_rbtree_node_t *sentinel, dh_rbtree_node_t *x);
static void dh_rbtree_right_rotate(dh_rbtree_node_t **root,
    dh_rbtree_node_t *sentinel, dh_rbtree_node_t *x);
static void dh_rbtree_delete_fixup(dh_rbtree_node_t **root,
    dh_rbtree_node_t *sentinel, dh_rbtree_node_t *x);


void
dh_rbtree_insert(dh_rbtree_t *tree, dh_rbtree_node_t *node)
{
    dh_rbtree_node_t  **root, *sentinel, *parent, *grand, *uncle;

    root = &tree->root;
    sentinel = tree->sentinel;

    if (*root == sentinel) {
        node->parent = NULL;
        node->left = sentinel;
        node->right = sentinel;
        dh_rbt_black(node);
        *root = node;
        return;
    }

    tree->insert(*root, node, sentinel);

    /* the new node is red; repair any red parent / red child pair */

    while (node != *root && dh_rbt_is_red(node->parent)) {
        parent = node->parent;
        grand = parent->parent;

        if (parent == grand->left) {
            uncle = grand->right;

            if (dh_rbt_is_red(uncle)) {
                dh_rbt_black(parent);
                dh_rbt_black(uncle);
                dh_rbt_red(grand);
                node = grand;
                continue;
            }

            if (node == parent->right) {
                node = parent;
                dh_rbtree_left_rotate(root, sentinel, node);
                parent = node->parent;
            }

            dh_rbt_black(parent);
            dh_rbt_red(grand);
            dh_rbtree_right_rotate(root, sentinel, grand);

        } else {
            uncle = grand->left;

            if (dh_rbt_is_red(uncle)) {
                dh_rbt_black(parent);
                dh_rbt_black(uncle);
                dh_rbt_red(grand);
                node = grand;
                continue;
            }

            if (node == parent->left) {
                node = parent;
                dh_rbtree_right_rotate(root, sentinel, node);
                parent = node->parent;
            }

            dh_rbt_black(parent);
            dh_rbt_red(grand);
            dh_rbtree_left_rotate(root, sentinel, grand);
        }
    }

    dh_rbt_black(*root);
}


static void
dh_rbtree_link(dh_rbtree_node_t *parent, dh_rbtree_node_t **link,
    dh_rbtree_node_t *node, dh_rbtree_node_t *sentinel)
{
    *link = node;
    node->parent = parent;
    node->left = sentinel;
    node->right = sentinel;
    dh_rbt_red(node);
}


/* Equal keys go right, so nodes with the same key keep insertion order. */
void
dh_rbtree_insert_value(dh_rbtree_node_t *temp, dh_rbtree_node_t *node,
    dh_rbtree_node_t *sentinel)
{
    dh_rbtree_node_t  **p;

    for ( ;; ) {
        p = (node->key < temp->key) ? &temp->left : &temp->right;

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    dh_rbtree_link(temp, p, node, sentinel);
}


/*
 * Timer keys are milliseconds that wrap around: compare the signed
 * difference, which orders correctly as long as all live timers lie
 * within half the key range of each other.
 */
void
dh_rbtree_insert_timer_value(dh_rbtree_node_t *temp, dh_rbtree_node_t *node,
    dh_rbtree_node_t *sentinel)
{
    dh_rbtree_node_t  **p;

    for ( ;; ) {
        p = ((dh_rbtree_key_int_t) (node->key - temp->key) < 0)
            ? &temp->left : &temp->right;

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    dh_rbtree_link(temp, p, node, sentinel);
}


static void
dh_rbtree_replace_child(dh_rbtree_node_t **root, dh_rbtree_node_t *old,
    dh_rbtree_node_t *new)
{
    if (old == *root) {
        *root = new;

    } else if (old == old->parent->left) {
        old->parent->left = new;

    } else {
        old->parent->right = new;
    }
}


void
dh_rbtree_delete(dh_rbtree_t *tree, dh_rbtree_node_t *node)
{
    dh_uint_t           removed_red;
    dh_rbtree_node_t  **root, *sentinel, *subst, *child;

    root = &tree->root;
    sentinel = tree->sentinel;

    /* subst is the node that actually leaves its place: node itself when
     * it has at most one child, else its in-order successor */

    if (node->left == sentinel) {
        subst = node;
        child = node->right;

    } else if (node->right == sentinel) {
        subst = node;
        child = node->left;

    } else {
        subst = dh_rbtree_min(node->right, sentinel);
        child = subst->right;
    }

    if (subst == *root) {
        *root = child;
        child->parent = NULL;
        dh_rbt_black(child);
        goto done;
    }

    removed_red = dh_rbt_is_red(subst);

    if (subst == subst->parent->left) {
        subst->parent->left = child;

    } else {
        subst->parent->right = child;
    }

    if (subst == node) {
        child->parent = subst->parent;

    } else {
        child->parent = (subst->parent == node) ? subst : subst->parent;

        /* the successor takes node's place, links and color */

        subst->left = node->left;
        subst->right = node->right;
        subst->parent = node->parent;
        dh_rbt_copy_color(subst, node);

        dh_rbtree_replace_child(root, node, subst);

        if (subst->left != sentinel) {
            subst->left->parent = subst;
        }

        if (subst->right != sentinel) {
            subst->right->parent = subst;
        }
    }

    if (!removed_red) {
        dh_rbtree_delete_fixup(root, sentinel, child);
    }

done:

    node->left = NULL;
    node->right = NULL;
    node->parent = NULL;
    node->key = 0;
}


/* x carries an extra black; push it up or resolve it by rotations. */
static void
dh_rbtree_delete_fixup(dh_rbtree_node_t **root, dh_rbtree_node_t *sentinel,
    dh_rbtree_node_t *x)
{
    dh_rbtree_node_t  *w;

    while (x != *root && dh_rbt_is_black(x)) {

        if (x == x->parent->left) {
            w = x->parent->right;

            if (dh_rbt_is_red(w)) {
                dh_rbt_black(w);
                dh_rbt_red(x->parent);
                dh_rbtree_left_rotate(root, sentinel, x->parent);
                w = x->parent->right;
            }

            if (dh_rbt_is_black(w->left) && dh_rbt_is_black(w->right)) {
                dh_rbt_red(w);
                x = x->parent;
                continue;
            }

            if (dh_rbt_is_black(w->right)) {
                dh_rbt_black(w->left);
                dh_rbt_red(w);
                dh_rbtree_right_rotate(root, sentinel, w);
                w = x->parent->right;
            }

            dh_rbt_copy_color(w, x->parent);
            dh_rbt_black(x->parent);
            dh_rbt_black(w->right);
            dh_rbtree_left_rotate(root, sentinel, x->parent);
            x = *root;

        } else {
            w = x->parent->left;

            if (dh_rbt_is_red(w)) {
                dh_rbt_black(w);
                dh_rbt_red(x->parent);
                dh_rbtree_right_rotate(root, sentinel, x->parent);
                w = x->parent->left;
            }

            if (dh_rbt_is_black(w->left) && dh_rbt_is_black(w->right)) {
                dh_rbt_red(w);
                x = x->parent;
                continue;
            }

            if (dh_rbt_is_black(w->left)) {
                dh_rbt_black(w->right);
                dh_rbt_red(w);
                dh_rbtree_left_rotate(root, sentinel, w);
                w = x->parent->left;
            }

            dh_rbt_copy_color(w, x->parent);
            dh_rbt_black(x->parent);
            dh_rbt_black(w->left);
            dh_rbtree_right_rotate(root, sentinel, x->parent);
            x = *root;
        }
    }

    dh_rbt_black(x);
}


dh_rbtree_node_t *
dh_rbtree_next(dh_rbtree_t *tree, dh_rbtree_node_t *node)
{
    dh_rbtree_node_t  *sentinel, *parent;

    sentinel = tree->sentinel;

    if (node->right != sentinel) {
        return dh_rbtree_min(node->right, sentinel);
    }

    for (parent = node->parent;
         parent != NULL && node == parent->right;
         node = parent, parent = parent->parent)
    {
        /* void */
    }

    return parent;
}


static void
dh_rbtree_left_rotate(dh_rbtree_node_t **root, dh_rbtree_node_t *sentinel,
    dh_rbtree_node_t *x)
{
    dh_rbtree_node_t  *y;

    y = x->right;
    x->right = y->left;

    if (y->left != sentinel) {
        y->left->parent = x;
    }

    y->parent = x->parent;
    dh_rbtree_replace_child(root, x, y);

    y->left = x;
    x->parent = y;
}


static void
dh_rbtree_right_rotate(dh_rbtree_node_t **root, dh_rbtree_node_t *sentinel,
    dh_rbtree_node_t *x)
{
    dh_rbtree_node_t  *y;

    y = x->left;
    x->left = y->right;

    if (y->right != sentinel) {
        y->right->parent = x;
    }

    y->parent = x->parent;
    dh_rbtree_replace_child(root, x, y);

    y->right = x;
    x->parent = y;
}
