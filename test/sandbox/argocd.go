package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// ArgoCDToken logs in to the sandbox's argocd-server as admin (POST
// /api/v1/session, as `argocd login` does) and returns the session token.
func (s *Sandbox) ArgoCDToken() (string, error) {
	password, err := os.ReadFile(s.Env["KP_ARGOCD_ADMIN_PASSWORD_FILE"])
	if err != nil {
		return "", err
	}
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": strings.TrimSpace(string(password))})
	resp, err := http.Post("http://"+s.Env["ARGOCD_SERVER"]+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("argocd-server login: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", err
	}
	return out.Token, nil
}
