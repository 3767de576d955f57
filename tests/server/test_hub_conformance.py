"""What the stock client relies on beyond files and refs (issue 25, "Stock-client conformance"), through HfApi.

LFS decided by ``.gitattributes`` at preupload, the initial commit (the Hub's default attributes, authored by
the creator, a card for a new Space), card validation (``license``, ``model-index``, empty card), likes,
super-squash, ``lfs-files`` list and delete, ``auth-check`` (gated repos included), ``settings/repositories``, an organisation's
private-by-default setting and its full name in ``whoami-v2``, ``create_tag`` on a missing revision, deleting a
folder named without its trailing '/'.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import httpx
import pytest
from _hub_server import HubServer
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    ModelCard,
    RepoCard,
    hf_hub_download,
)
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from modelyard.server.gitattributes import LfsAttributes, default_gitattributes

REF_PYTHON = Path(__file__).resolve().parents[2] / ".venv-ref" / "bin" / "python"


def _siblings(api: HfApi, repo: str, repo_type: str = "model") -> dict[str, object]:
    info = api.repo_info(repo, repo_type=repo_type, files_metadata=True)
    return {s.rfilename: s for s in info.siblings}


def _preupload(server: HubServer, repo: str, files: dict[str, int], repo_type: str = "models") -> dict[str, str]:
    answer = httpx.post(f"{server.url}/api/{repo_type}/{repo}/preupload/main", timeout=30,
                        headers={"authorization": f"Bearer {server.token}"},
                        json={"files": [{"path": p, "size": n, "sample": ""} for p, n in files.items()]})
    assert answer.status_code == 200, answer.text
    return {f["path"]: f["uploadMode"] for f in answer.json()["files"]}


# -- .gitattributes decides LFS ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("path", "lfs"), [
    ("model.bin", True), ("deep/er/weights.safetensors", True), ("saved_model/variables/data", True),
    ("saved_model/x/y/z.pb", True), ("runs/events.out.tfevents.17.host", True), ("data.tar.gz", True),
    ("x.lfs.json", True), ("README.md", False), ("config.json", False), ("saved_model", False),
    ("other/saved_model/file", False), ("image.png", False),
])
def test_the_default_attributes_match_as_git_does(path: str, lfs: bool) -> None:
    assert LfsAttributes(default_gitattributes("model").decode()).is_lfs(path) is lfs


def test_attribute_rules_later_lines_unset_and_anchors() -> None:
    rules = LfsAttributes("*.txt filter=lfs\nkeep/*.txt -filter\n/top.dat filter=lfs\n**/deep filter=lfs\n"
                          "logs/ filter=lfs\n# a comment\n*.md text\n")
    assert rules.is_lfs("a/b.txt") and not rules.is_lfs("keep/b.txt") and rules.is_lfs("x/keep/b.txt")
    assert rules.is_lfs("top.dat") and not rules.is_lfs("sub/top.dat")
    assert rules.is_lfs("deep") and rules.is_lfs("a/b/deep")
    assert not rules.is_lfs("logs/x") and not rules.is_lfs("README.md")  # a folder pattern matches no file
    images = LfsAttributes(default_gitattributes("dataset").decode())
    assert images.is_lfs("train/0001.png") and images.is_lfs("audio/a.wav")


def test_preupload_answers_lfs_for_small_files_matching_the_attributes(hub_server: HubServer, api: HfApi,
                                                                        repo: str) -> None:
    modes = _preupload(hub_server, repo, {"tiny.bin": 7, "a/b/tiny.safetensors": 10, "notes.txt": 10,
                                          "big.txt": 11 * 1024 * 1024})
    assert modes == {"tiny.bin": "lfs", "a/b/tiny.safetensors": "lfs", "notes.txt": "regular", "big.txt": "lfs"}
    # The repository's own .gitattributes counts, not the default one.
    api.upload_file(path_or_fileobj=b"*.png filter=lfs diff=lfs merge=lfs -text\n", path_in_repo=".gitattributes",
                    repo_id=repo)
    assert _preupload(hub_server, repo, {"x.png": 5, "x.bin": 5}) == {"x.png": "lfs", "x.bin": "regular"}


def test_small_lfs_files_round_trip_through_the_stock_client(hub_server: HubServer, api: HfApi, repo: str,
                                                             tmp_path: Path) -> None:
    api.create_commit(repo, operations=[CommitOperationAdd("weights.bin", b"seven b"),
                                        CommitOperationAdd("sub/model.safetensors", b"x" * 100),
                                        CommitOperationAdd("notes.txt", b"plain")], commit_message="small files")
    siblings = _siblings(api, repo)
    assert siblings["weights.bin"].lfs is not None and siblings["weights.bin"].lfs.size == 7
    assert siblings["sub/model.safetensors"].lfs is not None
    assert siblings["notes.txt"].lfs is None
    path = api.hf_hub_download(repo, "weights.bin", cache_dir=tmp_path)
    assert Path(path).read_bytes() == b"seven b"


def test_small_lfs_files_through_xet(hub_server: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("hf_xet")
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    api = hub_server.api()
    repo = hub_server.repo_id("xet-small")
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=b"tiny xet", path_in_repo="w.bin", repo_id=repo)
    assert _siblings(api, repo)["w.bin"].lfs is not None
    assert Path(api.hf_hub_download(repo, "w.bin", cache_dir=tmp_path)).read_bytes() == b"tiny xet"


@pytest.mark.reference
@pytest.mark.skipif(not REF_PYTHON.exists(), reason="the reference environment (.venv-ref) is not built")
def test_small_lfs_files_with_the_reference_client(hub_server: HubServer, tmp_path: Path) -> None:
    repo = hub_server.repo_id("ref-small")
    script = (
        "import sys\nfrom huggingface_hub import HfApi\n"
        "api = HfApi(token=sys.argv[2])\n"
        "api.create_repo(sys.argv[3])\n"
        "api.upload_file(path_or_fileobj=b'ref bytes', path_in_repo='w.bin', repo_id=sys.argv[3])\n"
        "info = api.model_info(sys.argv[3], files_metadata=True)\n"
        "sib = {s.rfilename: s for s in info.siblings}\n"
        "assert sib['w.bin'].lfs is not None, sib\n"
        "p = api.hf_hub_download(sys.argv[3], 'w.bin', cache_dir=sys.argv[4])\n"
        "assert open(p, 'rb').read() == b'ref bytes'\n"
        "print('ok')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "HF_"))}
    env.update(HF_ENDPOINT=hub_server.url, HF_HOME=str(tmp_path / "hf"), HF_HUB_DISABLE_XET="1",
               HF_HUB_DISABLE_TELEMETRY="1")
    result = subprocess.run([str(REF_PYTHON), "-c", script, hub_server.url, hub_server.token, repo, str(tmp_path)],
                            capture_output=True, text=True, timeout=180, env=env)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-2000:]


# -- the initial commit ------------------------------------------------------------------------------------------
def test_new_repos_start_with_the_default_attributes_by_their_creator(hub_server: HubServer, api: HfApi) -> None:
    model = hub_server.repo_id("init-model")
    dataset = hub_server.repo_id("init-dataset")
    api.create_repo(model)
    api.create_repo(dataset, repo_type="dataset")
    for repo_id, repo_type in ((model, "model"), (dataset, "dataset")):
        commits = api.list_repo_commits(repo_id, repo_type=repo_type)
        assert [c.title for c in commits] == ["initial commit"]
        assert commits[0].authors == [hub_server.user]
        text = Path(api.hf_hub_download(repo_id, ".gitattributes", repo_type=repo_type,
                                        cache_dir=hub_server.data_dir.parent / "dl")).read_bytes()
        assert text == default_gitattributes(repo_type)
    assert b"*.png" in default_gitattributes("dataset") and b"*.png" not in default_gitattributes("model")


def test_a_new_space_has_a_card_naming_its_sdk(hub_env: HubServer, api: HfApi) -> None:
    hub_server = hub_env
    space = hub_server.repo_id("space")
    api.create_repo(space, repo_type="space", space_sdk="gradio")
    assert set(api.list_repo_files(space, repo_type="space")) == {".gitattributes", "README.md"}
    card = RepoCard.load(space, repo_type="space", token=hub_server.token)
    assert card.data.sdk == "gradio" and card.data.title == space.split("/")[1]
    bare = hub_server.repo_id("space-nosdk")
    api.create_repo(bare, repo_type="space", space_sdk="static")
    assert RepoCard.load(bare, repo_type="space", token=hub_server.token).data.sdk == "static"


# -- validate-yaml -----------------------------------------------------------------------------------------------
def test_validate_yaml_checks_license_model_index_and_warns_on_an_empty_card(hub_env: HubServer,
                                                                              api: HfApi, repo: str) -> None:
    hub_server = hub_env
    url = f"{hub_server.url}/api/validate-yaml"
    bad_license = httpx.post(url, json={"content": "---\nlicense: asdf\n---\n# x", "repoType": "model"})
    assert bad_license.status_code == 400
    assert bad_license.json()["errors"][0]["message"].startswith('"license" must be one of [')
    assert httpx.post(url, json={"content": "---\nlicense: [mit, apache-2.0]\n---\n"}).status_code == 200
    bad_index = httpx.post(url, json={"content": "---\nmodel-index: foo\n---\n"})
    assert bad_index.status_code == 400 and "model-index" in bad_index.json()["errors"][0]["message"]
    good_index = ("---\nmodel-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
                  "    dataset: {type: imdb, name: IMDb}\n    metrics: [{type: accuracy, value: 0.9}]\n---\n")
    assert httpx.post(url, json={"content": good_index}).json() == {"errors": [], "warnings": []}
    empty = httpx.post(url, json={"content": "just text"})
    assert empty.status_code == 200 and empty.json()["errors"] == [] and empty.json()["warnings"]

    card = ModelCard("---\nlicense: asdf\n---\n# card")
    with pytest.raises(ValueError, match='- Error: "license" must be one of'):
        card.validate()
    with pytest.raises(ValueError, match="Invalid metadata in README.md"):
        api.upload_file(path_or_fileobj=b"---\nmodel-index: foo\n---\n", path_in_repo="README.md", repo_id=repo)
    with pytest.warns(UserWarning, match="Warnings while validating metadata in README.md"):
        api.upload_file(path_or_fileobj=b"no metadata here", path_in_repo="README.md", repo_id=repo)


# -- likes -------------------------------------------------------------------------------------------------------
def test_likes_count_list_and_sort(hub_server: HubServer, api: HfApi) -> None:
    liked = hub_server.repo_id("liked")
    plain = hub_server.repo_id("plain")
    api.create_repo(liked)
    api.create_repo(plain)
    bob_token = hub_server.add_user(f"bob{liked.rsplit('-', 1)[1]}")
    bob = hub_server.api(token=bob_token)
    bob_name = bob.whoami()["name"]
    for client in (api, bob):
        assert httpx.post(f"{hub_server.url}/api/models/{liked}/like", timeout=30,
                          headers={"authorization": f"Bearer {client.token}"}).status_code == 200
    api.unlike(plain)  # unliking what one never liked is fine
    assert api.model_info(liked).likes == 2 and api.model_info(plain).likes == 0
    assert liked in api.list_liked_repos().models
    assert api.list_liked_repos(bob_name).models == [liked]
    assert {u.username for u in api.list_repo_likers(liked)} == {hub_server.user, bob_name}
    top = [m.id for m in api.list_models(author=hub_server.user, sort="likes", limit=1000)]
    assert top.index(liked) < top.index(plain)
    bob.unlike(liked)
    assert api.model_info(liked).likes == 1 and api.list_liked_repos(bob_name).total == 0
    with pytest.raises(RepositoryNotFoundError):
        api.unlike(f"{hub_server.user}/does-not-exist")
    assert httpx.post(f"{hub_server.url}/api/models/{liked}/like").status_code == 401
    assert httpx.get(f"{hub_server.url}/api/users/nobody-here/likes").status_code == 404


def test_a_like_never_reveals_a_private_repo_and_goes_with_it(hub_server: HubServer, api: HfApi) -> None:
    secret = hub_server.repo_id("secret")
    api.create_repo(secret, private=True)
    httpx.post(f"{hub_server.url}/api/models/{secret}/like", headers={"authorization": f"Bearer {api.token}"})
    assert secret in api.list_liked_repos().models
    assert secret not in HfApi(endpoint=hub_server.url, token=False).list_liked_repos(hub_server.user).models
    api.delete_repo(secret)
    assert secret not in api.list_liked_repos().models
    rows = hub_server.storage.conn().execute("SELECT COUNT(*) AS n FROM likes l LEFT JOIN repos r ON r.id = "
                                             "l.repo_id WHERE r.id IS NULL").fetchone()
    assert rows["n"] == 0


# -- history -----------------------------------------------------------------------------------------------------
def test_super_squash_keeps_the_files_and_other_branches(hub_server: HubServer, api: HfApi, repo: str) -> None:
    for content in (b"one", b"two"):
        api.upload_file(path_or_fileobj=content, path_in_repo="f.txt", repo_id=repo)
    api.create_branch(repo, branch="keep")
    before = api.list_repo_commits(repo, revision="keep")
    api.super_squash_history(repo)
    main = api.list_repo_commits(repo)
    assert len(main) == 1 and main[0].title == "Super-squash branch 'main' using huggingface_hub"
    assert main[0].authors == [hub_server.user]
    assert api.list_repo_commits(repo, revision="keep") == before
    assert set(api.list_repo_files(repo)) == {".gitattributes", "f.txt"}
    with pytest.raises(RevisionNotFoundError):
        api.super_squash_history(repo, branch="nope")
    reader = hub_server.api(token=hub_server.create_token(hub_server.user, role="read"))
    with pytest.raises(HfHubHTTPError) as err:
        reader.super_squash_history(repo)
    assert err.value.response.status_code == 403


def test_list_and_permanently_delete_lfs_files(hub_server: HubServer, api: HfApi, repo: str) -> None:
    api.upload_file(path_or_fileobj=b"main lfs", path_in_repo="a.bin", repo_id=repo)
    api.upload_file(path_or_fileobj=b"text", path_in_repo="t.txt", repo_id=repo)
    api.create_branch(repo, branch="side")
    api.upload_file(path_or_fileobj=b"side lfs", path_in_repo="b.bin", repo_id=repo, revision="side")
    files = {f.filename: f for f in api.list_lfs_files(repo)}
    assert set(files) == {"a.bin", "b.bin"}
    assert files["a.bin"].ref == "main" and files["b.bin"].ref == "side" and files["a.bin"].size == 8
    api.permanently_delete_lfs_files(repo, [files["a.bin"]])
    assert [f.filename for f in api.list_lfs_files(repo)] == ["b.bin"]
    for revision in ("main", "side"):
        assert "a.bin" not in api.list_repo_files(repo, revision=revision)
    assert "b.bin" in api.list_repo_files(repo, revision="side")
    bad = httpx.post(f"{hub_server.url}/api/models/{repo}/lfs-files/batch", timeout=30,
                     headers={"authorization": f"Bearer {api.token}"},
                     json={"deletions": {"sha": ["../x"], "rewriteHistory": True}})
    assert bad.status_code == 400


# -- access and account answers ----------------------------------------------------------------------------------
def test_auth_check_and_repository_settings(hub_server: HubServer, api: HfApi) -> None:
    private = hub_server.repo_id("auth-private")
    api.create_repo(private, private=True)
    api.auth_check(private)
    outsider = hub_server.api(token=hub_server.add_user(f"out{private.rsplit('-', 1)[1]}"))
    with pytest.raises(RepositoryNotFoundError):
        outsider.auth_check(private)
    with pytest.raises(RepositoryNotFoundError):
        api.auth_check(f"{hub_server.user}/missing-repo-id")
    mine = {r.id: r for r in api.list_user_repos()}
    assert mine[private].visibility == "private" and mine[private].storage > 0
    org_repo = api.create_repo(f"{hub_server.org}/{private.split('/')[1]}").repo_id
    assert org_repo in {r.id for r in api.list_user_repos(namespace=hub_server.org)}
    with pytest.raises(HfHubHTTPError):
        list(outsider.list_user_repos(namespace=hub_server.org))


def test_auth_check_and_gitattributes_of_a_gated_repo_need_access(hub_server: HubServer, api: HfApi, repo: str,
                                                                 tmp_path: Path) -> None:
    """As the stock client's own tests expect: only the card of a gated repo is free to read."""
    api.update_repo_settings(repo, gated="auto")
    api.auth_check(repo)  # the owner
    other = hub_server.add_user(f"gate{repo.rsplit('-', 1)[1]}")
    with pytest.raises(GatedRepoError, match="is restricted and you are not in the authorized list"):
        hf_hub_download(repo, ".gitattributes", endpoint=hub_server.url, token=other, cache_dir=tmp_path)
    for write in (False, True):
        with pytest.raises(GatedRepoError):
            hub_server.api(token=other).auth_check(repo, write=write)
    assert httpx.post(f"{hub_server.url}/{repo}/ask-access", headers={"authorization": f"Bearer {other}"},
                      timeout=30).status_code == 200  # an auto gate lets the asker in at once
    hub_server.api(token=other).auth_check(repo)
    assert Path(hf_hub_download(repo, ".gitattributes", endpoint=hub_server.url, token=other,
                                cache_dir=tmp_path)).read_bytes() == default_gitattributes("model")


def test_org_private_by_default_and_fullname_in_whoami(hub_server: HubServer, api: HfApi) -> None:
    org = f"quiet{hub_server.repo_id('o').rsplit('-', 1)[1]}"
    hub_server.storage.accounts.add_namespace(org, "org", "Quiet Org")
    hub_server.storage.accounts.add_member(org, hub_server.user)
    hub_server.storage.accounts.set_default_private(org, True)
    assert api.model_info(api.create_repo(f"{org}/r1").repo_id).private is True
    assert api.model_info(api.create_repo(f"{org}/r2", private=False).repo_id).private is False
    assert api.model_info(api.create_repo(hub_server.repo_id("mine")).repo_id).private is False
    orgs = {o["name"]: o for o in api.whoami()["orgs"]}
    assert orgs[org]["fullname"] == "Quiet Org"


def test_create_tag_on_a_missing_revision_is_a_404_first(api: HfApi, repo: str) -> None:
    with pytest.raises(RevisionNotFoundError):
        api.create_tag(repo, tag="invalid tag", revision="foobar")


def test_deleting_a_folder_named_without_its_slash(api: HfApi, repo: str) -> None:
    api.create_commit(repo, operations=[CommitOperationAdd("1/a.txt", b"a"), CommitOperationAdd("1/2/b.txt", b"b"),
                                        CommitOperationAdd("10.txt", b"c")], commit_message="files")
    api.create_commit(repo, operations=[CommitOperationDelete("1")], commit_message="drop folder 1")
    assert set(api.list_repo_files(repo)) == {".gitattributes", "10.txt"}
    with pytest.raises(HfHubHTTPError):
        api.create_commit(repo, operations=[CommitOperationDelete("1")], commit_message="again")


def test_a_backslash_path_is_refused_by_design(api: HfApi, repo: str) -> None:
    """The Hugging Face Hub stores ``folder/..\\..\\file`` as a name; this hub refuses it (README, "Names"): on
    Windows it escapes the download folder of any client that does not check."""
    for path in ("folder/..\\..\\..\\file", "a\\b.txt"):
        with pytest.raises(HfHubHTTPError, match="backslash") as err:
            api.upload_file(path_or_fileobj=b"content", path_in_repo=path, repo_id=repo)
        assert err.value.response.status_code == 422
    assert api.list_repo_files(repo) == [".gitattributes"]


def test_the_org_admin_command_sets_private_by_default(tmp_path: Path) -> None:
    from modelyard.server.storage import Storage

    def hub(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "modelyard.cli.main", "hub", *args, "--data-dir", str(tmp_path)],
                       check=True, capture_output=True)

    hub("org", "add", "team", "--fullname", "The Team", "--private-by-default")
    storage = Storage(tmp_path / "hub.sqlite")
    assert storage.accounts.default_private("team") and storage.accounts.fullname("team") == "The Team"
    hub("org", "set", "team", "--private-by-default", "off")
    assert not storage.accounts.default_private("team")
    warnings.simplefilter("ignore")
