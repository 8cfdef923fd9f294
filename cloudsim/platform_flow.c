/*
 * Runs a lifecycle flow (install, uninstall, launch, forged uninstall) on its own worker thread.
 *
 * A flow waits on the app's answers for up to 10 s per attempt. MHD's pool threads each serve
 * many connections, so a flow run on one would stall unrelated requests; instead the request is
 * deferred (capp http_defer) and a detached thread runs the flow and answers. The thread count
 * is tracked so that shutdown (cs_free) waits for every flow to finish.
 */
#include "cloudsim/platform.h"

#include <stdlib.h>

#include "capp/json.h"

struct cs_flow *cs_flow_new(struct cloudsim *cs, enum cs_flow_kind kind)
{
    struct cs_flow *flow = calloc(1, sizeof *flow);
    if (!flow)
        return NULL;
    flow->kind = kind;
    flow->faults = cs->config.faults;
    flow->install.faults = cs->config.faults;
    return flow;
}

void cs_flow_free(struct cs_flow *flow)
{
    if (!flow)
        return;
    json_decref(flow->owned);
    free(flow->arg);
    free(flow);
}

struct flow_thread {
    struct cloudsim *cs;
    struct http_request *req;
    struct cs_flow *flow;
};

static void *flow_main(void *arg)
{
    struct flow_thread *t = arg;
    struct cloudsim *cs = t->cs;
    struct cs_flow *flow = t->flow;
    struct cs_outcome out = {0};
    switch (flow->kind) {
    case CS_FLOW_INSTALL:
        cs_install(cs, &flow->install, &out);
        break;
    case CS_FLOW_UNINSTALL:
        cs_uninstall(cs, flow->installed_app_id, &flow->faults, &out);
        break;
    case CS_FLOW_FORGED_UNINSTALL:
        cs_forge_uninstall(cs, flow->installed_app_id, flow->overrides, &out);
        break;
    case CS_FLOW_LAUNCH:
        cs_launch(cs, flow->installed_app_id, flow->user_id[0] ? flow->user_id : NULL, &out);
        break;
    }
    if (!out.result) {
        out.status = 500;
        out.result = json_error_body("internal_error", "out of memory");
    }
    if (flow->answer)
        flow->answer(cs, t->req, &out, flow->arg);
    else
        http_respond_json(t->req, out.status, out.result);
    cs_flow_free(flow);
    free(t);
    cs_db_release(cs);
    cs_worker_leave(cs);
    return NULL;
}

void cs_flow_start(struct cloudsim *cs, struct http_request *req, struct cs_flow *flow)
{
    struct flow_thread *t = malloc(sizeof *t);
    if (!t) {
        cs_flow_free(flow);
        http_respond_error(req, 500, "internal_error", "out of memory");
        return;
    }
    t->cs = cs;
    t->req = req;
    t->flow = flow;
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    cs_worker_enter(cs);
    http_defer(req);
    if (pthread_create(&thread, &attr, flow_main, t) != 0) {
        cs_worker_leave(cs);
        cs_flow_free(flow);
        free(t);
        http_respond_error(req, 503, "busy", "could not start the flow; retry");
    }
    pthread_attr_destroy(&attr);
}
