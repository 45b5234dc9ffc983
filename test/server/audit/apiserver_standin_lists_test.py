#!/usr/bin/env python3
"""The stand-in's lists: paging with continue tokens as the etcd3 store makes them (snapshots,
malformed and expired tokens), label and field selectors (CTest: audit.standin.lists). The one
wait is a 0.2 s continue-token lifetime that only needs time to pass.
"""
import base64
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apiserver_standin as st  # noqa: E402
from standin_test_support import APPS, StandinCase, main, status_doc  # noqa: E402
from standin_test_support import setUpModule, tearDownModule  # noqa: E402,F401  unittest runs them


# ====================================================================================== lists
class Lists(StandinCase):
    def keys(self, items):
        return [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in items]

    def test_paging_returns_every_object_once_in_key_order(self):
        apps = st.make_applications(1234, ["team-b", "team-a", "a", "a-b", "z", "team", "b"])
        self.srv.add_objects(apps)
        c = self.admin()
        items, metas = self.list_all(c, APPS + "/applications", 100)
        self.assertEqual(len(metas), 13)
        want = sorted((a["metadata"]["namespace"], a["metadata"]["name"]) for a in apps)
        want.sort(key=lambda k: f"{k[0]}/{k[1]}")   # etcd's byte order of "ns/name"
        self.assertEqual(self.keys(items), want)
        namespaces = [k[0] for k in self.keys(items)]
        # "a-b/..." sorts before "a/..." ('-' < '/'), not after as (namespace, name) would.
        self.assertLess(max(i for i, n in enumerate(namespaces) if n == "a-b"),
                        min(i for i, n in enumerate(namespaces) if n == "a"))
        rvs = {m["resourceVersion"] for m in metas}
        self.assertEqual(len(rvs), 1, "every page of one list is read at one resourceVersion")
        self.assertEqual([m.get("remainingItemCount") for m in metas[:3]], [1134, 1034, 934])
        self.assertNotIn("continue", metas[-1])
        self.assertNotIn("remainingItemCount", metas[-1])
        for it in items[:3]:
            self.assertTrue(it["metadata"]["resourceVersion"] and it["metadata"]["uid"])
            self.assertEqual((it["apiVersion"], it["kind"]),
                             ("core.oam.dev/v1beta1", "Application"))

    def test_no_limit_or_limit_0_gives_everything_in_one_page(self):
        self.srv.add_objects(st.make_applications(40, 4))
        c = self.admin()
        for q in ("", "?limit=0", "?limit="):
            status, doc = c.json("GET", APPS + "/applications" + q)
            self.assertEqual((status, len(doc["items"])), (200, 40), q)
            self.assertEqual(sorted(doc["metadata"]), ["resourceVersion"])
            self.assertEqual((doc["kind"], doc["apiVersion"]),
                             ("ApplicationList", "core.oam.dev/v1beta1"))

    def test_a_page_ending_exactly_at_the_last_object_has_no_continue(self):
        self.srv.add_objects(st.make_applications(10, 1))
        status, doc = self.admin().json("GET", APPS + "/applications?limit=10")
        self.assertEqual((len(doc["items"]), doc["metadata"].get("continue")), (10, None))

    def test_namespaced_lists_page_within_their_namespace(self):
        self.srv.add_objects(st.make_applications(300, ["ns-a", "ns-b", "ns-aa"]))
        items, metas = self.list_all(self.admin(), APPS + "/namespaces/ns-a/applications", 30)
        self.assertEqual(len(items), 100)
        self.assertEqual({i["metadata"]["namespace"] for i in items}, {"ns-a"})
        self.assertEqual(len(metas), 4)
        token = json.loads(base64.urlsafe_b64decode(metas[0]["continue"] + "=="))
        self.assertEqual(set(token), {"v", "rv", "start"})
        self.assertEqual((token["v"], token["start"]), ("meta.k8s.io/v1", "app-00087\x00"))
        status, doc = self.admin().json("GET", APPS + "/namespaces/empty/applications?limit=5")
        self.assertEqual((status, doc["items"], sorted(doc["metadata"])),
                         (200, [], ["resourceVersion"]))

    def test_continue_token_is_the_etcd3_stores(self):
        self.srv.add_objects(st.make_applications(3, ["x"]))
        status, doc = self.admin().json("GET", APPS + "/applications?limit=1")
        tok = doc["metadata"]["continue"]
        self.assertNotIn("=", tok)
        self.assertEqual(json.loads(base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4))),
                         {"v": "meta.k8s.io/v1", "rv": int(doc["metadata"]["resourceVersion"]),
                          "start": "x/app-00000\x00"})

    def test_pages_read_one_snapshot_while_objects_change(self):
        self.srv.add_objects(st.make_applications(20, ["n"]))
        c = self.admin()
        status, first = c.json("GET", APPS + "/applications?limit=5")
        rv = first["metadata"]["resourceVersion"]
        self.srv.delete("applications", "n", "app-00010")
        late = st.make_applications(1, ["n"], prefix="app-00010-late")[0]
        self.srv.add(late)
        changed = self.srv.get("applications", "n", "app-00012")
        changed["metadata"]["labels"] = {"changed": "yes"}
        self.srv.add(changed)
        items = list(first["items"])
        cont = first["metadata"]["continue"]
        while cont:
            status, doc = c.json("GET", APPS + f"/applications?limit=5&continue={cont}")
            self.assertEqual(doc["metadata"]["resourceVersion"], rv)
            items += doc["items"]
            cont = doc["metadata"].get("continue")
        names = [i["metadata"]["name"] for i in items]
        self.assertEqual(len(names), 20)
        self.assertIn("app-00010", names)
        self.assertNotIn("app-00010-late-00000", names)
        self.assertNotIn("labels", items[12]["metadata"])
        status, fresh = c.json("GET", APPS + "/applications")
        names = [i["metadata"]["name"] for i in fresh["items"]]
        self.assertNotIn("app-00010", names)
        self.assertIn("app-00010-late-00000", names)

    def test_malformed_continue_tokens_are_400(self):
        self.srv.add_objects(st.make_applications(3, 1))
        c = self.admin()

        def tok(d):
            return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
        prefix = "invalid continue token: continue key is not valid"
        cases = {
            "%%%": prefix + ": illegal base64 data at input byte 0",
            "bm90IGpzb24": prefix + ": ",
            tok({"v": "meta.k8s.io/v2", "rv": 5, "start": "a"}):
                prefix + ": server does not recognize this encoded version meta.k8s.io/v2",
            tok({"v": "meta.k8s.io/v1", "rv": 0, "start": "a"}):
                prefix + ": incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
            tok({"v": "meta.k8s.io/v1", "rv": 5, "start": ""}):
                prefix + ": encoded start key empty (version meta.k8s.io/v1)",
            tok({"v": "meta.k8s.io/v1", "rv": 5, "start": "../../secrets/x"}):
                prefix + ": ../../secrets/x",
        }
        for token, message in cases.items():
            status, doc = c.json("GET", APPS + "/applications?limit=1&continue="
                                 + token.replace("%", "%25"))
            self.assertEqual((status, doc["reason"], doc["code"]), (400, "BadRequest", 400), token)
            self.assertTrue(doc["message"].startswith(message), (token, doc["message"]))
        status, doc = c.json("GET", APPS + "/applications?limit=1")
        status, doc = c.json("GET", APPS + "/applications?limit=1&resourceVersion=5&continue="
                             + doc["metadata"]["continue"])
        self.assertEqual((status, doc["message"]), (400, "specifying resource version is not "
                                                         "allowed when using continue"))
        self.assertEqual(c.json("GET", APPS + "/applications?limit=x")[0], 400)
        self.assertEqual(c.json("GET", APPS + "/applications?watch=true")[0], 400)

    def test_expired_continue_tokens_are_410_with_a_fresh_token(self):
        self.srv.add_objects(st.make_applications(30, 3))
        c = self.admin()
        status, first = c.json("GET", APPS + "/applications?limit=10")
        cont = first["metadata"]["continue"]
        self.srv.expire_continue_tokens()
        status, doc = c.json("GET", APPS + f"/applications?limit=10&continue={cont}")
        self.assertEqual(status, 410)
        fresh = doc["metadata"]["continue"]
        self.assertEqual(doc, status_doc(410, "Expired", st.MSG_CONTINUE_EXPIRED,
                                         metadata={"continue": fresh}))
        self.assertTrue(doc["message"].startswith(
            "The provided continue parameter is too old to display a consistent list result."))
        tok = json.loads(base64.urlsafe_b64decode(fresh + "=" * (-len(fresh) % 4)))
        self.assertEqual(tok["rv"], -1)
        # The Status' token continues at the latest state where the old one stopped.
        status, rest = c.json("GET", APPS + f"/applications?limit=100&continue={fresh}")
        self.assertEqual((status, len(rest["items"])), (200, 20))
        self.assertEqual(rest["items"][0]["metadata"]["name"],
                         self.srv.objects("applications")[10]["metadata"]["name"])
        # A new list works, and its tokens are valid.
        items, _ = self.list_all(c, APPS + "/applications", 10)
        self.assertEqual(len(items), 30)

    def test_expiry_by_age_of_the_list(self):
        self.srv.continue_ttl = 0.5
        self.srv.add_objects(st.make_applications(4, 1))
        c = self.admin()
        status, doc = c.json("GET", APPS + "/applications?limit=1")
        time.sleep(0.3)
        status, doc = c.json("GET", APPS + "/applications?limit=1&continue="
                             + doc["metadata"]["continue"])
        # No assertion on this page: on a busy machine 0.3 s may have become 0.5 s. The next
        # token is as old as the list (>= 0.6 s after the sleep below) and has expired, although
        # its own page is only 0.3 s old.
        if status == 200:
            time.sleep(0.3)
            status, doc = c.json("GET", APPS + "/applications?limit=1&continue="
                                 + doc["metadata"]["continue"])
        self.assertEqual((status, doc["reason"]), (410, "Expired"))

    def test_label_selectors(self):
        objs = st.make_applications(6, ["n"])
        labels = [{"tier": "web", "team": "a"}, {"tier": "db", "team": "a"}, {"tier": "web"},
                  {"team": "b"}, {}, {"tier": "cache", "team": "b"}]
        for o, lab in zip(objs, labels):
            o["metadata"]["labels"] = lab
        self.srv.add_objects(objs)
        c = self.admin()
        cases = {"tier=web": [0, 2], "tier==web": [0, 2], "tier!=web": [1, 3, 4, 5],
                 "team": [0, 1, 3, 5], "!team": [2, 4], "tier=web,team=a": [0],
                 "tier in (web,db)": [0, 1, 2], "tier notin (web, db)": [3, 4, 5],
                 "team,tier!=cache": [0, 1, 3], "": [0, 1, 2, 3, 4, 5]}
        for sel, want in cases.items():
            status, doc = c.json("GET", APPS + "/applications?labelSelector="
                                 + urllib_quote(sel))
            self.assertEqual(status, 200, sel)
            self.assertEqual([int(i["metadata"]["name"][-1]) for i in doc["items"]], want, sel)
        for bad in ("tier=", "=web", "tier in web", "tier=a b", "ti er", "a,,b", "x=@"):
            if bad == "tier=":
                continue  # an empty value is a valid label value
            status, doc = c.json("GET", APPS + "/applications?labelSelector=" + urllib_quote(bad))
            self.assertEqual((status, doc["reason"]), (400, "BadRequest"), bad)

    def test_label_selector_pages_may_end_empty_with_a_continue(self):
        objs = st.make_applications(6, ["n"])
        objs[0]["metadata"]["labels"] = {"pick": "yes"}
        objs[1]["metadata"]["labels"] = {"pick": "yes"}
        self.srv.add_objects(objs)
        items, metas = self.list_all(self.admin(), APPS + "/applications", 2,
                                     "&labelSelector=pick%3Dyes")
        self.assertEqual(len(items), 2)
        self.assertEqual([len(m) for m in metas], [2, 1])   # continue, then the empty last page
        self.assertNotIn("remainingItemCount", metas[0])

    def test_field_selectors(self):
        self.srv.add_objects(st.make_applications(6, ["n1", "n2"]))
        c = self.admin()
        status, doc = c.json("GET", APPS + "/applications?fieldSelector=metadata.name%3Dapp-00003")
        self.assertEqual([i["metadata"]["name"] for i in doc["items"]], ["app-00003"])
        status, doc = c.json("GET", APPS + "/applications?fieldSelector=metadata.namespace!%3Dn1")
        self.assertEqual({i["metadata"]["namespace"] for i in doc["items"]}, {"n2"})
        status, doc = c.json("GET", APPS + "/applications?fieldSelector=spec.x%3D1")
        self.assertEqual((status, doc["message"]), (400, "field label not supported: spec.x"))


def urllib_quote(s):
    import urllib.parse
    return urllib.parse.quote(s, safe="")


if __name__ == "__main__":
    main()
