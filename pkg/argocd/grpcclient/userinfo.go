package grpcclient

import (
	"context"
	"fmt"

	"github.com/argoproj/argo-cd/v3/pkg/apiclient"
	sessionpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/session"
)

// session is the session service (userinfo), kept like applications.
func (s *Client) session(ctx context.Context) (sessionpkg.SessionServiceClient, error) {
	return kept(ctx, s, &s.sess, func(c apiclient.Client, dctx context.Context) (sessionpkg.SessionServiceClient, error) {
		_, sess, err := c.NewSessionClientWithContext(dctx) // closed with the process
		return sess, err
	})
}

// UserInfo is the user the token belongs to, as argocd account
// get-user-info says it (any logged-in user may ask).
func (s *Client) UserInfo(ctx context.Context) (string, error) {
	res, err := unary(ctx, s, "asking who the user is", s.session, func(cctx context.Context, sess sessionpkg.SessionServiceClient) (*sessionpkg.GetUserInfoResponse, error) {
		return sess.GetUserInfo(cctx, &sessionpkg.GetUserInfoRequest{})
	})
	if err != nil {
		return "", err
	}
	if !res.LoggedIn {
		return "", fmt.Errorf("Argo CD at %s says the token is not logged in", s.opts.Server)
	}
	return res.Username, nil
}
