package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ResourceRef names one object of an Application's resource tree.
type ResourceRef struct {
	Group, Version, Kind, Namespace, Name string
}

// Resource reads the live state of one object an Application manages (Argo CD
// RBAC: get on the application). Argo CD finds only objects already in the
// Application's resource tree.
func (c *Client) Resource(ctx context.Context, app, project string, ref ResourceRef) (*unstructured.Unstructured, error) {
	q := url.Values{"resourceName": {ref.Name}, "version": {ref.Version}, "kind": {ref.Kind}}
	if ref.Group != "" {
		q.Set("group", ref.Group)
	}
	if ref.Namespace != "" {
		q.Set("namespace", ref.Namespace)
	}
	if project != "" {
		q.Set("project", project)
	}
	resp, err := c.call(ctx, "/api/v1/applications/"+url.PathEscape(app)+"/resource", q)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Manifest string `json:"manifest"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("Argo CD at %s: reading %s %s of app %s: %w", c.server, ref.Kind, ref.Name, app, err)
	}
	obj, err := decode(strings.NewReader(body.Manifest))
	if err != nil {
		return nil, fmt.Errorf("Argo CD at %s: the manifest of %s %s of app %s: %w", c.server, ref.Kind, ref.Name, app, err)
	}
	m, _ := obj.(map[string]any)
	return &unstructured.Unstructured{Object: m}, nil
}

// ProjectExists says whether Argo CD has the AppProject (Argo CD RBAC: get on
// projects; a project the token may not see reads as a denial, not as absent).
func (c *Client) ProjectExists(ctx context.Context, name string) (bool, error) {
	resp, err := c.call(ctx, "/api/v1/projects/"+url.PathEscape(name), nil)
	if err != nil {
		var se *statusError
		if errors.As(err, &se) && se.code == http.StatusNotFound {
			return false, nil
		}
		return false, err
	}
	resp.Body.Close()
	return true, nil
}

// RepositoryRefs asks the repo-server, through the API, for the branches and
// tags of a repository: it answers only when the repo-server can read it
// (Argo CD RBAC: get on repositories).
func (c *Client) RepositoryRefs(ctx context.Context, repoURL string) (branches, tags []string, err error) {
	resp, err := c.call(ctx, "/api/v1/repositories/"+url.PathEscape(repoURL)+"/refs", nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	var refs struct {
		Branches []string `json:"branches"`
		Tags     []string `json:"tags"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&refs); err != nil {
		return nil, nil, fmt.Errorf("Argo CD at %s: reading the refs of %s: %w", c.server, repoURL, err)
	}
	return refs.Branches, refs.Tags, nil
}
